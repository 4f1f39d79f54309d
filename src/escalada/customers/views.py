from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import NotFound, PermissionDenied, ValidationFailed
from escalada.base.pagination import paginate_by_id
from escalada.customers import selectors, services
from escalada.customers.forms import ContactForm, ImportForm, OrganizationForm, search_query


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _service_errors(form: forms.Form, exc: ValidationFailed) -> None:
    for field, message in exc.errors.items():
        form.add_error(field if field in form.fields else None, f"{field}: {message}" if field not in form.fields else message)


def _import(request: HttpRequest, form: ImportForm, kind: str) -> bool:
    if not form.is_valid():
        return False
    raw = form.cleaned_data["file"].read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        form.add_error("file", "The file is not UTF-8 text; save it as CSV UTF-8.")
        return False
    importer = services.organization_import_csv if kind == "organizations" else services.contact_import_csv
    try:
        result = importer(text=text, actor=_user(request))
    except ValidationFailed as exc:
        form.add_error("file", exc.message)
        for field, message in exc.errors.items():
            form.add_error(None, f"{field}: {message}")
        return False
    messages.success(request, f"Imported: {result.created} created, {result.updated} updated, {result.unchanged} unchanged.")
    return True


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    is_staff = is_staff_role(user_role(user=user))
    import_form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and is_staff and _import(request, import_form, "organizations"):
        return redirect("organization-list")
    query = search_query(request.GET)
    try:
        page = paginate_by_id(
            selectors.organization_list_accessible(user=user, query=query), cursor=request.GET.get("cursor"), limit=50
        )
    except ValidationFailed:
        page = paginate_by_id(selectors.organization_list_accessible(user=user, query=query), cursor=None, limit=50)
    context = {"nav": "organizations", "page": page, "q": query, "is_staff": is_staff, "import_form": import_form}
    return render(request, "customers/organization_list.html", context, status=422 if import_form.errors else 200)


@login_required
def organization_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not is_staff_role(user_role(user=user)):
        raise Http404("No such page.")
    form = OrganizationForm(request.POST or None, initial={"tier": "standard", "time_zone": "UTC"})
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(data=form.organization_data(), actor=user)
        except ValidationFailed as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, f"Organization {organization.name} created.")
            return redirect("organization-detail", organization_id=organization.pk)
    status = 422 if form.errors else 200
    return render(request, "customers/organization_new.html", {"nav": "organizations", "form": form}, status=status)


@login_required
def organization_detail(request: HttpRequest, organization_id: int) -> HttpResponse:
    user = _user(request)
    try:
        organization = selectors.organization_get_accessible(user=user, organization_id=organization_id)
    except NotFound:
        raise Http404("No such organization.") from None
    is_staff = is_staff_role(user_role(user=user))
    initial = {
        "name": organization.name,
        "domains": " ".join(d.domain for d in organization.domains.all()),
        "tier": organization.tier,
        "time_zone": organization.time_zone,
        "external_id": organization.external_id or "",
        "notes": organization.notes,
    }
    form = OrganizationForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not is_staff:
            raise Http404("No such page.")
        if form.is_valid():
            try:
                services.organization_update(organization=organization, data=form.organization_data(), actor=user)
            except (ValidationFailed, PermissionDenied) as exc:
                if isinstance(exc, ValidationFailed):
                    _service_errors(form, exc)
                else:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, "Organization saved.")
                return redirect("organization-detail", organization_id=organization.pk)
    context = {
        "nav": "organizations",
        "organization": organization,
        "form": form,
        "is_staff": is_staff,
        "contacts": selectors.contact_list_accessible(user=user, organization_id=organization.pk)[:100],
    }
    return render(request, "customers/organization_detail.html", context, status=422 if form.errors else 200)


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    is_staff = is_staff_role(user_role(user=user))
    import_form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and is_staff and _import(request, import_form, "contacts"):
        return redirect("contact-list")
    query = search_query(request.GET)
    contacts = selectors.contact_list_accessible(user=user, query=query)
    try:
        page = paginate_by_id(contacts, cursor=request.GET.get("cursor"), limit=50)
    except ValidationFailed:
        page = paginate_by_id(contacts, cursor=None, limit=50)
    context = {"nav": "contacts", "page": page, "q": query, "is_staff": is_staff, "import_form": import_form}
    return render(request, "customers/contact_list.html", context, status=422 if import_form.errors else 200)


@login_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = _user(request)
    try:
        contact = selectors.contact_get_accessible(user=user, contact_id=contact_id)
    except NotFound:
        raise Http404("No such contact.") from None
    is_staff = is_staff_role(user_role(user=user))
    initial = {
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "organization": contact.organization_id,
        "time_zone": contact.time_zone,
        "is_vip": contact.is_vip,
        "external_id": contact.external_id or "",
    }
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not is_staff:
            raise Http404("No such page.")
        if form.is_valid():
            try:
                services.contact_update(
                    contact=contact,
                    data={
                        "name": form.cleaned_data["name"],
                        "email": form.cleaned_data["email"],
                        "phone": form.cleaned_data["phone"],
                        "organization": form.cleaned_data["organization"],
                        "time_zone": form.cleaned_data["time_zone"],
                        "is_vip": form.cleaned_data["is_vip"],
                        "external_id": form.cleaned_data["external_id"] or None,
                    },
                    actor=user,
                )
            except ValidationFailed as exc:
                _service_errors(form, exc)
            else:
                messages.success(request, "Contact saved.")
                return redirect("contact-detail", contact_id=contact.pk)
    context = {
        "nav": "contacts",
        "contact": contact,
        "form": form,
        "is_staff": is_staff,
    }
    return render(request, "customers/contact_detail.html", context, status=422 if form.errors else 200)
