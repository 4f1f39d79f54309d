from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from escalada.accounts.models import Role
from escalada.accounts.selectors import is_staff_role, team_ids_of, user_role
from escalada.audit.selectors import event_list_for_subject
from escalada.audit.services import event_record
from escalada.base.errors import NotFound, PermissionDenied, ValidationFailed
from escalada.base.pagination import paginate_by_id
from escalada.base.schemas import ErrorOut, StrictSchema
from escalada.customers.selectors import contact_of
from escalada.customers.services import contact_find_or_create, email_problem, normalize_email
from escalada.desk import verbs
from escalada.desk.schemas import TicketDetailOut
from escalada.escalations import runs
from escalada.tickets import macros, selectors, services
from escalada.tickets.models import Category, Macro, Message, Ticket
from escalada.tickets.schemas import (
    CategoryIn,
    CategoryOut,
    EventOut,
    MessageOut,
    ReplyIn,
    TicketCreateIn,
    TicketPage,
    TicketQuery,
    TicketUpdateIn,
)

router = Router(tags=["tickets"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # guaranteed by the API's authentication
    return user


@router.get("/tickets", response={200: TicketPage, **ERRORS}, summary="List tickets")
def ticket_list(request: HttpRequest, params: Query[TicketQuery]) -> dict[str, object]:
    """Newest first; follow `next_cursor` for the next page. Repeat a filter for OR (`?status=new&status=open`)."""
    filters = selectors.TicketFilters(
        status=params.status,
        priority=params.priority,
        severity=params.severity,
        channel=params.channel,
        team_id=params.team_id,
        assignee_id=params.assignee_id,
        is_unassigned=params.unassigned,
        organization_id=params.organization_id,
        requester_id=params.requester_id,
        category=params.category,
        tag=params.tag,
        query=params.q,
        created_after=params.created_after,
        created_before=params.created_before,
    )
    tickets = selectors.ticket_filter(selectors.ticket_list_accessible(user=_user(request)), filters).prefetch_related("tags")
    page = paginate_by_id(tickets, cursor=params.cursor, limit=params.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


CUSTOMER_CHANNELS = {"web", "api"}
STAFF_ONLY_ON_CREATE = ("severity", "team_id", "assignee_id", "tags")


@router.post("/tickets", response={201: TicketDetailOut, **ERRORS}, summary="Create a ticket")
def ticket_create(request: HttpRequest, payload: TicketCreateIn) -> Status[Ticket]:
    """Agents open tickets for anyone (`requester_email`); customers open them as themselves,
    through the web or the API, and leave severity, team, assignee and tags to the support team."""
    user = _user(request)
    errors: dict[str, str] = {}
    customer = None
    if user_role(user=user) == Role.CUSTOMER:
        customer = contact_of(user=user)
        if customer is None:
            raise PermissionDenied("This account is not linked to a contact; ask support to link it.")
        if payload.requester_email and normalize_email(payload.requester_email) != customer.email:
            errors["requester_email"] = "Customers open tickets as themselves; leave this out."
        for name in STAFF_ONLY_ON_CREATE:
            if name in payload.model_fields_set:
                errors[name] = "Set by the support team; leave this out."
        if payload.channel not in CUSTOMER_CHANNELS:
            errors["channel"] = "Customers write through web or api."
    elif not payload.requester_email:
        errors["requester_email"] = "Say who the ticket is for."
    else:
        problem = email_problem(payload.requester_email)
        if problem:
            errors["requester_email"] = problem
    if payload.requester_name and ("\r" in payload.requester_name or "\n" in payload.requester_name):
        errors["requester_name"] = "A name is one line: line breaks are not allowed (they would break e-mail headers)."
    team = assignee = category = None
    try:
        team, assignee = selectors.assignment_targets(team_id=payload.team_id, assignee_id=payload.assignee_id)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        category = selectors.category_by_slug(payload.category)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    problems = services.ticket_create_problems(
        subject=payload.subject,
        description=payload.description,
        description_html=payload.description_html,
        channel=payload.channel,
        priority=payload.priority,
        severity=payload.severity,
        team=team,
        assignee=assignee,
        tags=payload.tags,
    )
    errors = {**problems, **errors}
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        requester = customer or contact_find_or_create(
            email=payload.requester_email or "", name=payload.requester_name or "", actor=user
        )
        ticket = verbs.ticket_open(
            subject=payload.subject,
            description=payload.description,
            description_html=payload.description_html,
            requester=requester,
            channel=payload.channel,
            priority=payload.priority,
            severity=payload.severity,
            category=category,
            team=team,
            assignee=assignee,
            tags=payload.tags,
            actor=user,
        )
    # The service's instance already holds every related row the representation reads.
    return Status(201, ticket)


@router.get("/tickets/{id:ticket_id}", response={200: TicketDetailOut, **ERRORS}, summary="Get a ticket")
def ticket_get(request: HttpRequest, ticket_id: int) -> Ticket:
    return selectors.ticket_get_accessible(user=_user(request), ticket_id=ticket_id)


@router.patch("/tickets/{id:ticket_id}", response={200: TicketDetailOut, **ERRORS}, summary="Update a ticket")
def ticket_update(request: HttpRequest, ticket_id: int, payload: TicketUpdateIn) -> Ticket:
    """Send only the fields to change. `team_id`/`assignee_id` null clears them; status changes follow the workflow."""
    user = _user(request)
    sent = payload.model_dump(exclude_unset=True)
    for name in ("subject", "priority", "severity", "tags", "status"):
        if name in sent and sent[name] is None:
            raise ValidationFailed.one(name, "Cannot be null.")
    with transaction.atomic():
        ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket_id, action=selectors.TicketAction.CHANGE)
        changes: services.TicketChanges = {}
        for name in ("subject", "priority", "severity", "tags"):
            if name in sent:
                changes[name] = sent[name]  # type: ignore[literal-required]
        if "category" in sent:
            changes["category"] = selectors.category_by_slug(sent["category"])
        if changes:
            ticket = verbs.ticket_update(ticket=ticket, changes=changes, actor=user)
        if "team_id" in sent or "assignee_id" in sent:
            team_id = sent.get("team_id", ticket.team_id)
            assignee_id = sent.get("assignee_id", ticket.assignee_id)
            team, assignee = selectors.assignment_targets(team_id=team_id, assignee_id=assignee_id)
            ticket = verbs.ticket_assign(ticket=ticket, team=team, assignee=assignee, actor=user)
        if "status" in sent:
            ticket = verbs.ticket_change_status(ticket=ticket, status=sent["status"], actor=user)
    return selectors.ticket_for_output(ticket_id=ticket_id)


@router.post("/tickets/{id:ticket_id}/replies", response={201: MessageOut, **ERRORS}, summary="Reply or add an internal note")
def ticket_reply(request: HttpRequest, ticket_id: int, payload: ReplyIn) -> Status[Message]:
    user = _user(request)
    action = selectors.TicketAction.CHANGE if payload.visibility == "internal" else selectors.TicketAction.REPLY
    with transaction.atomic():
        ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket_id, action=action)
        message = verbs.ticket_reply(
            ticket=ticket,
            actor=user,
            body=payload.body,
            body_html=payload.body_html,
            visibility=payload.visibility,
            status=payload.status,
            channel="api" if request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer ") else "web",
        )
    return Status(201, message)


@router.get("/tickets/{id:ticket_id}/messages", response={200: list[MessageOut], **ERRORS}, summary="The thread")
def ticket_messages(request: HttpRequest, ticket_id: int) -> list[Message]:
    user = _user(request)
    ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket_id)
    return list(selectors.message_list_visible(user=user, ticket=ticket))


@router.get("/tickets/{id:ticket_id}/events", response={200: list[EventOut], **ERRORS}, summary="The audit log")
def ticket_events(request: HttpRequest, ticket_id: int) -> list[object]:
    """Every change to the ticket, oldest first, with the hash chain that makes edits detectable."""
    user = _user(request)
    ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket_id)
    if not is_staff_role(user_role(user=user)):
        raise PermissionDenied("The audit log is for agents and admins.")
    return list(event_list_for_subject(subject_type="ticket", subject_id=ticket.pk))


@router.get("/categories", response={200: list[CategoryOut], **ERRORS}, summary="Ticket categories")
def category_list(request: HttpRequest) -> list[object]:
    return list(selectors.category_list())


@router.post("/categories", response={201: CategoryOut, **ERRORS}, summary="Create a category (admins)")
def category_create(request: HttpRequest, payload: CategoryIn) -> Status[Category]:
    user = _user(request)
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins create categories.")
    return Status(201, services.category_create(name=payload.name, actor=user))


class AcknowledgeIn(StrictSchema):
    level: int | None = Field(default=None, ge=1, le=100, description="1-based; null: every fired level")


@router.post(
    "/tickets/{id:ticket_id}/escalation/acknowledge",
    response={200: TicketDetailOut, **ERRORS},
    summary="Acknowledge: stop a level's repeated notifications",
)
def escalation_acknowledge(request: HttpRequest, ticket_id: int, payload: AcknowledgeIn) -> Ticket:
    """The ladder goes on; only the repeats stop."""
    user = _user(request)
    with transaction.atomic():
        ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket_id, action=selectors.TicketAction.CHANGE)
        levels = runs.run_acknowledge(ticket=ticket, level=payload.level - 1 if payload.level else None, now=timezone.now())
        event_record(
            subject_type="ticket",
            subject_id=ticket.pk,
            kind="escalation.acknowledged",
            actor=user,
            after={"levels": [lv + 1 for lv in levels]},
        )
    return selectors.ticket_for_output(ticket_id=ticket_id)


@router.post(
    "/tickets/{id:ticket_id}/escalation/reapply",
    response={200: TicketDetailOut, **ERRORS},
    summary="Move the running escalation onto the ladder's current levels",
)
def escalation_reapply(request: HttpRequest, ticket_id: int) -> Ticket:
    user = _user(request)
    with transaction.atomic():
        ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket_id, action=selectors.TicketAction.CHANGE)
        runs.run_reapply(ticket=ticket, now=timezone.now())
    return selectors.ticket_for_output(ticket_id=ticket_id)


class RatingIn(StrictSchema):
    score: int = Field(ge=1, le=5, description="1 very unhappy … 5 very happy")
    comment: str = Field(default="", max_length=5000)


class RatingOut(Schema):
    ticket_id: int
    round: int
    score: int
    comment: str
    rated_at: datetime


@router.post("/tickets/{id:ticket_id}/rating", response={201: RatingOut, **ERRORS}, summary="Rate the resolution (customers)")
def ticket_rate(request: HttpRequest, ticket_id: int, payload: RatingIn) -> Status[object]:
    """CSAT: once per solve, by the customer, once the ticket is solved or closed (409 before)."""
    user = _user(request)
    ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket_id, action=selectors.TicketAction.REPLY)
    contact = contact_of(user=user)
    if contact is None or user_role(user=user) != Role.CUSTOMER:
        raise PermissionDenied("Only the customer rates a resolution.")
    return Status(201, services.ticket_rate(ticket=ticket, contact=contact, score=payload.score, comment=payload.comment))


class MacroIn(StrictSchema):
    name: str
    body: str = Field(description="Text with variables: {{ ticket.number }}, {{ requester.first_name }}, {{ agent.name }} …")
    visibility: str = "public"
    set_status: str = ""
    is_active: bool = True
    team_id: int | None = Field(default=None, description="A team's own macro; none: every team's")


class MacroOut(Schema):
    id: int
    name: str
    body: str
    visibility: str
    set_status: str
    is_active: bool
    team_id: int | None


class MacroRenderedOut(Schema):
    body: str
    visibility: str
    set_status: str


def _staff(request: HttpRequest) -> User:
    user = _user(request)
    if not is_staff_role(user_role(user=user)):
        raise PermissionDenied("Macros are for the support team.")
    return user


@router.get("/macros", response={200: list[MacroOut], **ERRORS}, summary="Canned replies")
def macro_list(request: HttpRequest) -> list[object]:
    """Admins see every macro; others everyone's and their own teams'."""
    user = _staff(request)
    rows = Macro.objects.order_by("name")
    if user_role(user=user) != Role.ADMIN:
        rows = rows.filter(Q(team__isnull=True) | Q(team_id__in=team_ids_of(user=user)))
    return list(rows)


@router.post("/macros", response={201: MacroOut, **ERRORS}, summary="Add a canned reply (admins)")
def macro_create(request: HttpRequest, payload: MacroIn) -> Status[Macro]:
    user = _staff(request)
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins change macros.")
    return Status(201, macros.macro_save(macro=None, data=payload.model_dump(), actor=user, now=timezone.now()))


@router.put("/macros/{id:macro_id}", response={200: MacroOut, **ERRORS}, summary="Change a canned reply (admins)")
def macro_update(request: HttpRequest, macro_id: int, payload: MacroIn) -> Macro:
    user = _staff(request)
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins change macros.")
    macro = Macro.objects.filter(pk=macro_id).first()
    if macro is None:
        raise NotFound(f"No macro {macro_id}.")
    return macros.macro_save(macro=macro, data=payload.model_dump(), actor=user, now=timezone.now())


@router.post(
    "/tickets/{id:ticket_id}/macros/{id:macro_id}/render",
    response={200: MacroRenderedOut, **ERRORS},
    summary="A macro's text for this ticket",
)
def macro_render(request: HttpRequest, ticket_id: int, macro_id: int) -> dict[str, str]:
    user = _staff(request)
    ticket = selectors.ticket_get_accessible(user=user, ticket_id=ticket_id)
    macro = macros.macros_available(user=user, ticket=ticket).filter(pk=macro_id).first()
    if macro is None:
        raise NotFound(f"No active macro {macro_id} for this ticket's team or yours.")
    body = macros.macro_render(macro=macro, ticket=ticket, agent=user)
    return {"body": body, "visibility": macro.visibility, "set_status": macro.set_status}
