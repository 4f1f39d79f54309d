from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from escalada.accounts.models import Role
from escalada.accounts.selectors import is_staff_role, user_role
from escalada.audit.selectors import event_list_for_subject
from escalada.base.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from escalada.base.pagination import paginate_by_id
from escalada.customers.selectors import contact_of
from escalada.customers.services import contact_find_or_create
from escalada.desk import verbs
from escalada.desk.customer_panel import customer_panel
from escalada.desk.portal_views import portal_context
from escalada.escalations import runs
from escalada.escalations import selectors as escalation_selectors
from escalada.sla.selectors import ticket_sla, ticket_sla_many
from escalada.sla.views import Chip, sla_chips, viewer_zone
from escalada.tickets import selectors
from escalada.tickets.forms import (
    UNSOLVED,
    AssignForm,
    PropertiesForm,
    ReplyForm,
    StatusForm,
    TicketEmbedForm,
    TicketFilterForm,
    TicketNewForm,
    apply_service_errors,
    split_tags,
)
from escalada.tickets.macros import macro_render, macros_available
from escalada.tickets.models import Status, Ticket

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _load(request: HttpRequest, ticket_id: int, action: selectors.TicketAction = selectors.TicketAction.VIEW) -> Ticket:
    try:
        return selectors.ticket_get_accessible(user=_user(request), ticket_id=ticket_id, action=action)
    except NotFound:
        raise Http404("No such ticket.") from None


def _status_filter(choice: str) -> list[str] | None:
    if choice == "unsolved":
        return [s.value for s in UNSOLVED]
    return [choice] if choice else None


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = TicketFilterForm(request.GET or None)
    filters = selectors.TicketFilters()
    cursor = None
    if form.is_valid():
        data = form.cleaned_data
        assignee = data.get("assignee")
        filters = selectors.TicketFilters(
            query=data.get("q") or None,
            status=_status_filter(data.get("status") or ""),
            priority=[data["priority"]] if data.get("priority") else None,
            team_id=data["team"].pk if data.get("team") else None,
            assignee_id=user.pk if assignee == "me" else None,
            is_unassigned=assignee == "none" or None,
        )
        cursor = data.get("cursor") or None
    tickets = selectors.ticket_filter(selectors.ticket_list_accessible(user=user), filters).prefetch_related("tags")
    try:
        page = paginate_by_id(tickets, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed:
        page = paginate_by_id(tickets, cursor=None, limit=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    is_staff = is_staff_role(user_role(user=user))
    chips: dict[int, list[Chip]] = {}
    if is_staff:
        now, zone = timezone.now(), viewer_zone(user)
        clocks = ticket_sla_many(ticket_ids=[t.pk for t in page.items], now=now)
        labels = {t.pk: t.get_status_display() for t in page.items}
        chips = {pk: sla_chips(views, now=now, zone=zone, status_label=labels[pk]) for pk, views in clocks.items()}
    context = {
        "nav": "tickets",
        "form": form,
        "page": page,
        "rows": [(t, chips.get(t.pk, [])) for t in page.items],
        "base_query": query.urlencode(),
        "is_staff": is_staff,
    }
    return render(request, "tickets/list.html", context)


@login_required
def ticket_embed(request: HttpRequest) -> HttpResponse:
    """The latest tickets of one organization or requester, as the viewer may see them: a
    partial that the organization and contact pages load with htmx."""
    form = TicketEmbedForm(request.GET)
    if not form.is_valid():
        return HttpResponse("Say which organization or requester.", status=422, content_type="text/plain; charset=utf-8")
    filters = selectors.TicketFilters(
        organization_id=form.cleaned_data.get("organization"), requester_id=form.cleaned_data.get("requester")
    )
    tickets = selectors.ticket_filter(selectors.ticket_list_accessible(user=_user(request)), filters).order_by("-pk")[:25]
    return render(request, "tickets/_embed.html", {"tickets": tickets})


@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    is_customer = user_role(user=user) == Role.CUSTOMER
    form = TicketNewForm(request.POST or None, is_customer=is_customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                if is_customer:
                    requester = contact_of(user=user)
                    if requester is None:
                        raise ValidationFailed.one("subject", "Your account is not linked to a contact; ask support to link it.")
                else:
                    requester = contact_find_or_create(
                        email=data["requester_email"], name=data.get("requester_name") or "", actor=user
                    )
                ticket = verbs.ticket_open(
                    subject=data["subject"],
                    description=data["description"],
                    requester=requester,
                    channel=data.get("channel") or "web",
                    priority=data["priority"],
                    severity=data.get("severity") or "sev3",
                    category=data.get("category"),
                    team=data.get("team"),
                    tags=split_tags(data.get("tags") or ""),
                    actor=user,
                )
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Ticket #{ticket.number} created.")
            return redirect("ticket-detail", ticket_id=ticket.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "tickets/new.html", {"nav": "new", "form": form, "is_customer": is_customer}, status=status)


def detail_context(request: HttpRequest, ticket: Ticket, **forms: Any) -> dict[str, Any]:
    user = _user(request)
    role = user_role(user=user)
    is_staff = is_staff_role(role)
    may_change = selectors.ticket_may_change(user=user, ticket=ticket)
    tags = ", ".join(sorted(t.name for t in ticket.tags.all()))
    context: dict[str, Any] = {
        "nav": "tickets",
        "ticket": ticket,
        "thread": selectors.message_list_visible(user=user, ticket=ticket),
        "is_staff": is_staff,
        "may_change": may_change,
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "status_form": forms.get("status_form") or StatusForm(initial={"status": ticket.status}),
        "assign_form": forms.get("assign_form")
        or AssignForm(initial={"team": ticket.team_id, "assignee": str(ticket.assignee_id or "")}),
        "properties_form": forms.get("properties_form")
        or PropertiesForm(
            initial={"priority": ticket.priority, "severity": ticket.severity, "category": ticket.category_id, "tags": tags}
        ),
        "events": event_list_for_subject(subject_type="ticket", subject_id=ticket.pk) if is_staff else [],
        "is_closed": ticket.status == Status.CLOSED,
    }
    if is_staff:
        # Customers never see SLA clocks or the policy their ticket is on.
        now, zone = timezone.now(), viewer_zone(user)
        sla = ticket_sla(ticket=ticket, now=now)
        context["sla"] = sla
        context["sla_chips"] = sla_chips(sla.current, now=now, zone=zone, status_label=ticket.get_status_display())
        context["sla_zone"] = zone.key
        context["escalation"] = escalation_selectors.ticket_escalation(ticket=ticket)
        context["customer_panel"] = customer_panel(ticket=ticket)
        context["macros"] = list(macros_available(user=user, ticket=ticket).only("pk", "name"))
    else:
        context["reply_form"].fields.pop("visibility", None)
        context["reply_form"].fields.pop("status", None)
        context.update(portal_context(ticket=ticket))
    return context


@login_required
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _load(request, ticket_id)
    return render(request, "tickets/detail.html", detail_context(request, ticket))


@login_required
@require_POST
def ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = _user(request)
    ticket = _load(request, ticket_id)
    form = ReplyForm(request.POST)
    is_staff = is_staff_role(user_role(user=user))
    if not is_staff:
        form.fields.pop("visibility")
        form.fields.pop("status")
    ok = False
    if form.is_valid():
        visibility = form.cleaned_data.get("visibility") or "public"
        action = (
            selectors.TicketAction.CHANGE
            if (visibility == "internal" or form.cleaned_data.get("status"))
            else selectors.TicketAction.REPLY
        )
        try:
            ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket.pk, action=action)
            message = verbs.ticket_reply(
                ticket=ticket,
                actor=user,
                body=form.cleaned_data["body"],
                visibility=visibility,
                status=form.cleaned_data.get("status") or None,
                channel="web",
            )
            ok = True
            if message.ticket_id != ticket.pk:  # past the reopen window: a linked follow-up
                messages.info(request, f"Request #{ticket.number} was solved a while ago, so your message opened a new request.")
                return redirect("ticket-detail", ticket_id=message.ticket_id)
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        except (Conflict, PermissionDenied) as exc:
            form.add_error(None, exc.message)
    ticket = _load(request, ticket.pk)
    context = detail_context(request, ticket, reply_form=None if ok else form)
    if request.headers.get("HX-Request") == "true":
        # htmx swaps only 2xx answers: field errors come back in a 200 partial. The timeline
        # rides along out of band, so the new event shows without a page load.
        return render(request, "tickets/_conversation.html", {**context, "oob": True})
    if ok:
        return redirect("ticket-detail", ticket_id=ticket.pk)
    return render(request, "tickets/detail.html", context, status=422)


def _change(request: HttpRequest, ticket_id: int) -> Ticket | HttpResponse:
    try:
        return selectors.ticket_get_accessible(user=_user(request), ticket_id=ticket_id, action=selectors.TicketAction.CHANGE)
    except NotFound:
        raise Http404("No such ticket.") from None
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)


@login_required
@require_POST
def ticket_status(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _change(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            verbs.ticket_change_status(ticket=ticket, status=form.cleaned_data["status"], actor=_user(request))
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Status is now {Status(form.cleaned_data['status']).label.lower()}.")
            return redirect("ticket-detail", ticket_id=ticket.pk)
    return render(request, "tickets/detail.html", detail_context(request, ticket, status_form=form), status=422)


@login_required
@require_POST
def ticket_assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _change(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            assignee_id = int(form.cleaned_data["assignee"]) if form.cleaned_data.get("assignee") else None
            team = form.cleaned_data.get("team")
            _, assignee = selectors.assignment_targets(team_id=None, assignee_id=assignee_id)
            verbs.ticket_assign(ticket=ticket, team=team, assignee=assignee, actor=_user(request))
        except ValidationFailed as exc:
            apply_service_errors(form, exc, aliases={"assignee_id": "assignee", "team_id": "team"})
        else:
            messages.success(request, "Assignment saved.")
            return redirect("ticket-detail", ticket_id=ticket.pk)
    return render(request, "tickets/detail.html", detail_context(request, ticket, assign_form=form), status=422)


@login_required
@require_POST
def ticket_properties(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _change(request, ticket_id)
    if isinstance(ticket, HttpResponse):
        return ticket
    form = PropertiesForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            verbs.ticket_update(
                ticket=ticket,
                changes={
                    "priority": data["priority"],
                    "severity": data["severity"],
                    "category": data.get("category"),
                    "tags": split_tags(data.get("tags") or ""),
                },
                actor=_user(request),
            )
        except ValidationFailed as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Ticket updated.")
            return redirect("ticket-detail", ticket_id=ticket.pk)
    return render(request, "tickets/detail.html", detail_context(request, ticket, properties_form=form), status=422)


@login_required
@require_POST
def ticket_escalation(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Acknowledge the fired levels (stops their repeats) or re-apply the ladder's current levels."""
    user = _user(request)
    action = request.POST.get("action")
    try:
        with transaction.atomic():
            ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket_id, action=selectors.TicketAction.CHANGE)
            if action == "acknowledge":
                levels = runs.run_acknowledge(ticket=ticket, level=None, now=timezone.now())
                messages.success(
                    request, f"Acknowledged level(s) {', '.join(str(lv + 1) for lv in levels)}: their reminders stop."
                )
            elif action == "reapply":
                runs.run_reapply(ticket=ticket, now=timezone.now())
                messages.success(request, "The ticket now follows the ladder's current levels.")
            else:
                messages.error(request, "Choose acknowledge or re-apply.")
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except NotFound as exc:
        raise Http404(exc.message) from None
    return redirect("ticket-detail", ticket_id=ticket_id)


@login_required
def ticket_macro(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """htmx: the reply box with a macro's text added to what is typed already."""
    user = _user(request)
    if not is_staff_role(user_role(user=user)):
        raise Http404("No such page.")
    ticket = _load(request, ticket_id)
    macro = (
        macros_available(user=user, ticket=ticket).filter(pk=request.GET.get("macro") or 0).first()
        if (request.GET.get("macro") or "").isdigit()
        else None
    )
    typed = request.GET.get("body", "")
    text = typed
    if macro is not None:
        rendered = macro_render(macro=macro, ticket=ticket, agent=user)
        text = f"{typed.rstrip()}\n\n{rendered}" if typed.strip() else rendered
    form = ReplyForm(initial={"body": text})
    return HttpResponse(str(form["body"]))
