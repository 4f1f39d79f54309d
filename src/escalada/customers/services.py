from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction

from escalada.audit.services import event_record
from escalada.base.errors import ValidationFailed, duplicates_refused
from escalada.base.timezones import is_timezone
from escalada.customers.models import Contact, Organization, OrganizationDomain, Tier

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class OrganizationData(TypedDict, total=False):
    name: str
    domains: list[str]
    tier: str
    time_zone: str
    external_id: str | None
    notes: str


class ContactData(TypedDict, total=False):
    name: str
    email: str
    phone: str
    organization: Organization | None
    time_zone: str
    is_vip: bool
    external_id: str | None


NOTES_MAX = 20_000
EXTERNAL_ID_MAX = 100
EMAIL_MAX = 254
DUPLICATE_NAME = "An organization with this name exists already (names are compared ignoring case)."
DUPLICATE_EMAIL = "Another contact has this address."
ORGANIZATION_FIELDS = ("name", "tier", "time_zone", "external_id", "notes")
CONTACT_FIELDS = ("name", "email", "phone", "organization_id", "time_zone", "is_vip", "external_id")


def _organization_snapshot(org: Organization) -> dict[str, Any]:
    data = {name: getattr(org, name) for name in ORGANIZATION_FIELDS}
    data["domains"] = sorted(org.domains.values_list("domain", flat=True)) if org.pk else []
    return data


def _contact_snapshot(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in CONTACT_FIELDS}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in changed}, {key: after[key] for key in changed}


def normalize_domain(value: str) -> str:
    return value.strip().lower().lstrip("@")


def _check_organization(data: OrganizationData, *, instance: Organization | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    other = Organization.objects.exclude(pk=instance.pk) if instance else Organization.objects.all()
    if "name" in data:
        name = data["name"].strip()
        if not name or len(name) > 200:
            errors["name"] = "Give a name of 1 to 200 characters."
        elif other.filter(name__iexact=name).exists():
            errors["name"] = f"An organization named {name!r} exists already."
    if "notes" in data and len(data["notes"]) > NOTES_MAX:
        errors["notes"] = f"Notes hold at most {NOTES_MAX} characters."
    if "tier" in data and data["tier"] not in Tier.values:
        errors["tier"] = f"Tier is one of {', '.join(Tier.values)}."
    if "time_zone" in data and not is_timezone(data["time_zone"]):
        errors["time_zone"] = f"{data['time_zone']!r} is not an IANA time zone such as Europe/Berlin."
    external_id = data.get("external_id")
    if external_id and len(external_id) > EXTERNAL_ID_MAX:
        errors["external_id"] = f"An external id has at most {EXTERNAL_ID_MAX} characters."
    elif external_id and other.filter(external_id=external_id).exists():
        errors["external_id"] = f"Another organization has external id {external_id!r}."
    if "domains" in data:
        domains = [normalize_domain(d) for d in data["domains"]]
        bad = [d for d in domains if not _DOMAIN.match(d)]
        taken = OrganizationDomain.objects.filter(domain__in=domains)
        if instance is not None:
            taken = taken.exclude(organization=instance)
        owned = list(taken.values_list("domain", flat=True))
        if bad:
            errors["domains"] = f"Not a domain name: {', '.join(bad)}."
        elif owned:
            errors["domains"] = f"Already belongs to another organization: {', '.join(sorted(owned))}."
    return errors


def _apply_organization(org: Organization, data: OrganizationData) -> None:
    if "name" in data:
        org.name = data["name"].strip()
    for name in ("tier", "time_zone", "notes"):
        if name in data:
            setattr(org, name, data[name])
    if "external_id" in data:
        org.external_id = data["external_id"] or None


def _set_domains(org: Organization, domains: list[str]) -> None:
    wanted = {normalize_domain(d) for d in domains}
    org.domains.exclude(domain__in=wanted).delete()
    existing = set(org.domains.values_list("domain", flat=True))
    OrganizationDomain.objects.bulk_create(OrganizationDomain(organization=org, domain=d) for d in sorted(wanted - existing))


@transaction.atomic
def organization_create(*, data: OrganizationData, actor: User | None) -> Organization:
    errors = _check_organization(data, instance=None)
    if "name" not in data:
        errors["name"] = "Give the organization a name."
    if errors:
        raise ValidationFailed(errors)
    org = Organization()
    _apply_organization(org, data)
    with duplicates_refused(lambda: _check_organization(data, instance=None), field="name", message=DUPLICATE_NAME):
        org.save()
        _set_domains(org, data.get("domains", []))
    event_record(
        subject_type="organization",
        subject_id=org.pk,
        kind="organization.created",
        is_new_subject=True,
        actor=actor,
        after=_organization_snapshot(org),
    )
    return org


@transaction.atomic
def organization_update(*, organization: Organization, data: OrganizationData, actor: User | None) -> Organization:
    errors = _check_organization(data, instance=organization)
    if errors:
        raise ValidationFailed(errors)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = _organization_snapshot(organization)
    _apply_organization(organization, data)
    recheck = lambda: _check_organization(data, instance=organization)  # noqa: E731
    with duplicates_refused(recheck, field="name", message=DUPLICATE_NAME):
        organization.save()
        if "domains" in data:
            _set_domains(organization, data["domains"])
    changed_before, changed_after = _diff(before, _organization_snapshot(organization))
    if changed_after:
        event_record(
            subject_type="organization",
            subject_id=organization.pk,
            kind="organization.updated",
            actor=actor,
            before=changed_before,
            after=changed_after,
        )
    return organization


def normalize_email(value: str) -> str:
    return value.strip().lower()


def email_problem(email: str) -> str | None:
    """Why this address cannot be a contact's, or None when it can."""
    try:
        validate_email(normalize_email(email))
    except DjangoValidationError:
        return "Enter a valid e-mail address."
    if len(normalize_email(email)) > EMAIL_MAX:
        return f"An e-mail address has at most {EMAIL_MAX} characters."
    return None


def _check_contact(data: ContactData, *, instance: Contact | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    other = Contact.objects.exclude(pk=instance.pk) if instance else Contact.objects.all()
    if "name" in data and (not data["name"].strip() or len(data["name"]) > 200):
        errors["name"] = "Give a name of 1 to 200 characters."
    elif "name" in data and ("\r" in data["name"] or "\n" in data["name"]):
        errors["name"] = "A name is one line: line breaks are not allowed (they would break e-mail headers)."
    if "email" in data:
        email = normalize_email(data["email"])
        problem = email_problem(email)
        if problem:
            errors["email"] = problem
        if "email" not in errors and other.filter(email=email).exists():
            errors["email"] = f"Another contact has the address {email}."
    if "time_zone" in data and not is_timezone(data["time_zone"]):
        errors["time_zone"] = f"{data['time_zone']!r} is not an IANA time zone such as Europe/Berlin."
    if "phone" in data and len(data["phone"]) > 40:
        errors["phone"] = "A phone number has at most 40 characters."
    external_id = data.get("external_id")
    if external_id and len(external_id) > EXTERNAL_ID_MAX:
        errors["external_id"] = f"An external id has at most {EXTERNAL_ID_MAX} characters."
    elif external_id and other.filter(external_id=external_id).exists():
        errors["external_id"] = f"Another contact has external id {external_id!r}."
    return errors


def organization_for_email(email: str) -> Organization | None:
    domain = email.rpartition("@")[2].lower()
    try:
        return OrganizationDomain.objects.select_related("organization").get(domain=domain).organization
    except OrganizationDomain.DoesNotExist:
        return None


def _apply_contact(contact: Contact, data: ContactData) -> None:
    if "name" in data:
        contact.name = data["name"].strip()
    if "email" in data:
        contact.email = normalize_email(data["email"])
    for name in ("phone", "time_zone", "is_vip", "organization"):
        if name in data:
            setattr(contact, name, data[name])
    if "external_id" in data:
        contact.external_id = data["external_id"] or None


@transaction.atomic
def contact_create(*, data: ContactData, actor: User | None) -> Contact:
    errors = _check_contact(data, instance=None)
    if "email" not in data:
        errors["email"] = "A contact needs an e-mail address."
    if errors:
        raise ValidationFailed(errors)
    contact = Contact()
    _apply_contact(contact, data)
    if not contact.name:
        contact.name = contact.email.partition("@")[0]
    if "organization" not in data:
        # Like Zendesk and Freshdesk: a sender from a known domain joins that organization.
        contact.organization = organization_for_email(contact.email)
    if contact.organization is not None and "time_zone" not in data:
        contact.time_zone = contact.organization.time_zone
    with duplicates_refused(lambda: _check_contact(data, instance=None), field="email", message=DUPLICATE_EMAIL):
        contact.save()
    event_record(
        subject_type="contact",
        subject_id=contact.pk,
        kind="contact.created",
        is_new_subject=True,
        actor=actor,
        after=_contact_snapshot(contact),
    )
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: ContactData, actor: User | None) -> Contact:
    errors = _check_contact(data, instance=contact)
    if errors:
        raise ValidationFailed(errors)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    before = _contact_snapshot(contact)
    _apply_contact(contact, data)
    recheck = lambda: _check_contact(data, instance=contact)  # noqa: E731
    with duplicates_refused(recheck, field="email", message=DUPLICATE_EMAIL):
        contact.save()
    changed_before, changed_after = _diff(before, _contact_snapshot(contact))
    if changed_after:
        event_record(
            subject_type="contact",
            subject_id=contact.pk,
            kind="contact.updated",
            actor=actor,
            before=changed_before,
            after=changed_after,
        )
    return contact


def contact_find_or_create(*, email: str, name: str = "", actor: User | None) -> Contact:
    """The contact with this address, created (and matched to an organization) if new."""
    try:
        return Contact.objects.select_related("organization").get(email=normalize_email(email))
    except Contact.DoesNotExist:
        pass
    data: ContactData = {"email": email}
    if name:
        data["name"] = name
    try:
        return contact_create(data=data, actor=actor)
    except ValidationFailed:
        # Another request created this contact a moment ago (two mails from a new sender):
        # use it, instead of failing the second ticket.
        existing = Contact.objects.select_related("organization").filter(email=normalize_email(email)).first()
        if existing is None:
            raise
        return existing


# --- CSV import -------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: dict[str, str] = field(default_factory=dict)


_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"", "0", "false", "no", "n"}


def _read_csv(text: str, *, required: set[str], known: set[str]) -> list[tuple[int, dict[str, str]]]:
    if "\x00" in text:
        raise ValidationFailed.one("file", "The file contains NUL characters; is it a spreadsheet rather than CSV?")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = {h.strip().lower() for h in reader.fieldnames or []}
    except csv.Error as exc:
        raise ValidationFailed.one("file", f"The header row is not valid CSV: {exc}.") from None
    missing = required - header
    if missing:
        raise ValidationFailed.one("file", f"The header row lacks the column(s): {', '.join(sorted(missing))}.")
    unknown = header - known
    if unknown:
        raise ValidationFailed.one("file", f"Unknown column(s): {', '.join(sorted(unknown))}. Known: {', '.join(sorted(known))}.")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for row in reader:
            if None in row:  # DictReader files surplus fields under None
                raise ValidationFailed.one("file", f"Line {reader.line_num} has more fields than the header row.")
            rows.append((reader.line_num, {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}))
    except csv.Error as exc:
        # line_num has not moved past the row that failed: it starts on the next line.
        raise ValidationFailed.one("file", f"Line {reader.line_num + 1} is not valid CSV: {exc}.") from None
    if not rows:
        raise ValidationFailed.one("file", "The file has a header but no rows.")
    return rows


@transaction.atomic
def organization_import_csv(*, text: str, actor: User | None) -> ImportResult:
    """Create or update organizations from CSV; all rows or none.

    Columns: name (required), domains (separated by spaces or ;), tier, time_zone, external_id,
    notes. A row updates the organization with its external_id, else the one with its name.
    """
    rows = _read_csv(text, required={"name"}, known={"name", "domains", "tier", "time_zone", "external_id", "notes"})
    result = ImportResult()
    plans: list[tuple[Organization | None, OrganizationData]] = []
    seen_names: dict[str, int] = {}
    for line, row in rows:
        data: OrganizationData = {"name": row["name"]}
        if row.get("domains"):
            data["domains"] = [d for d in re.split(r"[\s;,]+", row["domains"]) if d]
        for key in ("tier", "time_zone", "notes"):
            if row.get(key):
                data[key] = row[key]
        if row.get("external_id"):
            data["external_id"] = row["external_id"]
        instance = None
        if data.get("external_id"):
            instance = Organization.objects.filter(external_id=data["external_id"]).first()
        if instance is None:
            instance = Organization.objects.filter(name__iexact=row["name"]).first()
        errors = _check_organization(data, instance=instance)
        key = row["name"].lower()
        if key in seen_names:
            errors["name"] = f"Also on line {seen_names[key]}."
        seen_names[key] = line
        for name, message in errors.items():
            result.errors[f"line {line}: {name}"] = message
        plans.append((instance, data))
    if result.errors:
        raise ValidationFailed(result.errors, message="Nothing was imported; fix these rows and try again.")
    for instance, data in plans:
        if instance is None:
            organization_create(data=data, actor=actor)
            result.created += 1
        else:
            before = _organization_snapshot(instance)
            updated = organization_update(organization=instance, data=data, actor=actor)
            if _organization_snapshot(updated) == before:
                result.unchanged += 1
            else:
                result.updated += 1
    return result


@transaction.atomic
def contact_import_csv(*, text: str, actor: User | None) -> ImportResult:
    """Create or update contacts from CSV; all rows or none.

    Columns: email (required), name, phone, organization (name) or organization_external_id,
    time_zone, vip (yes/no), external_id. A row updates the contact with its external_id,
    else the one with its e-mail address.
    """
    known = {"email", "name", "phone", "organization", "organization_external_id", "time_zone", "vip", "external_id"}
    rows = _read_csv(text, required={"email"}, known=known)
    result = ImportResult()
    plans: list[tuple[Contact | None, ContactData]] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        errors: dict[str, str] = {}
        data: ContactData = {"email": row["email"]}
        for key in ("name", "phone", "time_zone"):
            if row.get(key):
                data[key] = row[key]
        if row.get("external_id"):
            data["external_id"] = row["external_id"]
        vip = row.get("vip", "").lower()
        if vip in _TRUE:
            data["is_vip"] = True
        elif vip in _FALSE:
            if vip:
                data["is_vip"] = False
        else:
            errors["vip"] = "Write yes or no."
        if row.get("organization_external_id"):
            org = Organization.objects.filter(external_id=row["organization_external_id"]).first()
            if org is None:
                errors["organization_external_id"] = f"No organization has external id {row['organization_external_id']!r}."
            data["organization"] = org
        elif row.get("organization"):
            org = Organization.objects.filter(name__iexact=row["organization"]).first()
            if org is None:
                errors["organization"] = f"No organization is named {row['organization']!r}."
            data["organization"] = org
        instance = None
        if data.get("external_id"):
            instance = Contact.objects.filter(external_id=data["external_id"]).first()
        if instance is None:
            instance = Contact.objects.filter(email=normalize_email(row["email"])).first()
        errors.update(_check_contact(data, instance=instance))
        email = normalize_email(row["email"])
        if email in seen:
            errors["email"] = f"Also on line {seen[email]}."
        seen[email] = line
        for name, message in errors.items():
            result.errors[f"line {line}: {name}"] = message
        plans.append((instance, data))
    if result.errors:
        raise ValidationFailed(result.errors, message="Nothing was imported; fix these rows and try again.")
    for instance, data in plans:
        if instance is None:
            contact_create(data=data, actor=actor)
            result.created += 1
        else:
            before = _contact_snapshot(instance)
            updated = contact_update(contact=instance, data=data, actor=actor)
            if _contact_snapshot(updated) == before:
                result.unchanged += 1
            else:
                result.updated += 1
    return result
