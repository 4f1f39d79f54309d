from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from escalada.accounts.models import Role
from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import NotFound, PermissionDenied
from escalada.customers.models import Contact, Organization


def contact_of(*, user: AbstractBaseUser | AnonymousUser) -> Contact | None:
    """The contact a customer user signs in as, or None."""
    if not user.is_authenticated:
        return None
    return Contact.objects.select_related("organization").filter(user_id=user.pk).first()


def organization_list_accessible(*, user: AbstractBaseUser | AnonymousUser, query: str = "") -> QuerySet[Organization]:
    role = user_role(user=user)
    organizations = Organization.objects.prefetch_related("domains").order_by("name")
    if role is None:
        return organizations.none()
    if role == Role.CUSTOMER:
        contact = contact_of(user=user)
        if contact is None or contact.organization_id is None:
            return organizations.none()
        organizations = organizations.filter(pk=contact.organization_id)
    if query:
        organizations = organizations.filter(Q(name__icontains=query) | Q(domains__domain__icontains=query)).distinct()
    return organizations


def organization_get_accessible(
    *, user: AbstractBaseUser | AnonymousUser, organization_id: int, for_change: bool = False
) -> Organization:
    """The organization if the user may see it (404 otherwise, no existence leak)."""
    organization = organization_list_accessible(user=user).filter(pk=organization_id).first()
    if organization is None:
        raise NotFound(f"No organization with id {organization_id}.")
    if for_change and not is_staff_role(user_role(user=user)):
        raise PermissionDenied("Only agents and admins change organizations.")
    return organization


def contact_list_accessible(
    *, user: AbstractBaseUser | AnonymousUser, query: str = "", organization_id: int | None = None
) -> QuerySet[Contact]:
    role = user_role(user=user)
    contacts = Contact.objects.select_related("organization").order_by("name")
    if role is None:
        return contacts.none()
    if role == Role.CUSTOMER:
        own = contact_of(user=user)
        if own is None:
            return contacts.none()
        contacts = (
            contacts.filter(pk=own.pk) if own.organization_id is None else contacts.filter(organization_id=own.organization_id)
        )
    if organization_id is not None:
        contacts = contacts.filter(organization_id=organization_id)
    if query:
        contacts = contacts.filter(Q(name__icontains=query) | Q(email__icontains=query))
    return contacts


def contact_get_accessible(*, user: AbstractBaseUser | AnonymousUser, contact_id: int, for_change: bool = False) -> Contact:
    contact = contact_list_accessible(user=user).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(f"No contact with id {contact_id}.")
    if for_change and not is_staff_role(user_role(user=user)):
        raise PermissionDenied("Only agents and admins change contacts.")
    return contact
