from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Router, Status

from escalada.accounts.models import Role
from escalada.accounts.selectors import user_role
from escalada.base.errors import PermissionDenied, ValidationFailed
from escalada.base.pagination import paginate_by_id
from escalada.base.schemas import DbId, ErrorOut
from escalada.customers import selectors, services
from escalada.customers.models import Contact, Organization
from escalada.customers.schemas import (
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    ImportOut,
    OrganizationIn,
    OrganizationOut,
    OrganizationPage,
    OrganizationPatch,
)

router = Router(tags=["customers"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _require_staff(user: User) -> None:
    if user_role(user=user) in {None, Role.CUSTOMER}:
        raise PermissionDenied("Only agents and admins manage organizations and contacts.")


def _csv_text(request: HttpRequest) -> str:
    upload = request.FILES.get("file")
    # read() rather than .body: an import may exceed the 1 MiB body limit of other calls; the
    # body-size middleware has already held it to ESCALADA_IMPORT_MAX_BYTES.
    raw = upload.read() if upload is not None else request.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.one("file", "The file is not UTF-8 text; save it as CSV UTF-8.") from None


def _organization_out(organization_id: int) -> Organization:
    return Organization.objects.prefetch_related("domains").get(pk=organization_id)


@router.get("/organizations", response={200: OrganizationPage, **ERRORS}, summary="List organizations")
def organization_list(request: HttpRequest, q: str = "", cursor: str | None = None, limit: int = 50) -> dict[str, object]:
    page = paginate_by_id(selectors.organization_list_accessible(user=_user(request), query=q), cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/organizations", response={201: OrganizationOut, **ERRORS}, summary="Create an organization")
def organization_create(request: HttpRequest, payload: OrganizationIn) -> Status[Organization]:
    user = _user(request)
    _require_staff(user)
    data: services.OrganizationData = payload.model_dump()  # type: ignore[assignment]
    organization = services.organization_create(data=data, actor=user)
    return Status(201, _organization_out(organization.pk))


@router.get("/organizations/{id:organization_id}", response={200: OrganizationOut, **ERRORS}, summary="Get an organization")
def organization_get(request: HttpRequest, organization_id: int) -> Organization:
    return selectors.organization_get_accessible(user=_user(request), organization_id=organization_id)


@router.patch("/organizations/{id:organization_id}", response={200: OrganizationOut, **ERRORS}, summary="Update an organization")
def organization_update(request: HttpRequest, organization_id: int, payload: OrganizationPatch) -> Organization:
    user = _user(request)
    organization = selectors.organization_get_accessible(user=user, organization_id=organization_id, for_change=True)
    sent = payload.model_dump(exclude_unset=True)
    for name in ("name", "domains", "tier", "time_zone", "notes"):
        if name in sent and sent[name] is None:
            raise ValidationFailed.one(name, "Cannot be null.")
    services.organization_update(organization=organization, data=sent, actor=user)  # type: ignore[arg-type]
    return _organization_out(organization_id)


@router.post("/organizations/import", response={200: ImportOut, **ERRORS}, summary="Import organizations from CSV")
def organization_import(request: HttpRequest) -> services.ImportResult:
    """Send the CSV as the body (`Content-Type: text/csv`) or as a multipart field `file`.
    Columns: name, domains, tier, time_zone, external_id, notes. All rows are imported or none."""
    user = _user(request)
    _require_staff(user)
    return services.organization_import_csv(text=_csv_text(request), actor=user)


@router.get("/contacts", response={200: ContactPage, **ERRORS}, summary="List contacts")
def contact_list(
    request: HttpRequest, q: str = "", organization_id: DbId | None = None, cursor: str | None = None, limit: int = 50
) -> dict[str, object]:
    contacts = selectors.contact_list_accessible(user=_user(request), query=q, organization_id=organization_id)
    page = paginate_by_id(contacts, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


def _contact_data(sent: dict[str, object], user: User) -> services.ContactData:
    data: dict[str, object] = {k: v for k, v in sent.items() if k != "organization_id"}
    if "organization_id" in sent:
        org_id = sent["organization_id"]
        if org_id is None:
            data["organization"] = None
        else:
            assert isinstance(org_id, int)
            organization = Organization.objects.filter(pk=org_id).first()
            if organization is None:
                raise ValidationFailed.one("organization_id", f"No organization with id {org_id}.")
            data["organization"] = organization
    if data.get("time_zone") is None:
        data.pop("time_zone", None)
    return data  # type: ignore[return-value]


@router.post("/contacts", response={201: ContactOut, **ERRORS}, summary="Create a contact")
def contact_create(request: HttpRequest, payload: ContactIn) -> Status[Contact]:
    user = _user(request)
    _require_staff(user)
    sent = payload.model_dump(exclude_unset=True)
    return Status(201, services.contact_create(data=_contact_data(sent, user), actor=user))


@router.get("/contacts/{id:contact_id}", response={200: ContactOut, **ERRORS}, summary="Get a contact")
def contact_get(request: HttpRequest, contact_id: int) -> Contact:
    return selectors.contact_get_accessible(user=_user(request), contact_id=contact_id)


@router.patch("/contacts/{id:contact_id}", response={200: ContactOut, **ERRORS}, summary="Update a contact")
def contact_update(request: HttpRequest, contact_id: int, payload: ContactPatch) -> Contact:
    user = _user(request)
    contact = selectors.contact_get_accessible(user=user, contact_id=contact_id, for_change=True)
    sent = payload.model_dump(exclude_unset=True)
    for name in ("name", "email", "phone", "is_vip"):
        if name in sent and sent[name] is None:
            raise ValidationFailed.one(name, "Cannot be null.")
    return services.contact_update(contact=contact, data=_contact_data(sent, user), actor=user)


@router.post("/contacts/import", response={200: ImportOut, **ERRORS}, summary="Import contacts from CSV")
def contact_import(request: HttpRequest) -> services.ImportResult:
    """Columns: email, name, phone, organization or organization_external_id, time_zone, vip, external_id."""
    user = _user(request)
    _require_staff(user)
    return services.contact_import_csv(text=_csv_text(request), actor=user)
