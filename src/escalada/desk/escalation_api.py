"""REST faces of the escalation record: escalate up, transfer, request (customers), the board,
the case file, its action plan, contributors, sign-off, root cause, resolve, de-escalate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from escalada.accounts.models import Team
from escalada.audit.selectors import event_list_for_subject
from escalada.base.errors import NotFound, ValidationFailed
from escalada.base.schemas import DbId, ErrorOut, StrictSchema
from escalada.desk import escalate as escalating
from escalada.escalations import records, selectors
from escalada.escalations.models import ActionStep, Escalation, Playbook
from escalada.tickets import selectors as ticket_selectors
from escalada.tickets.schemas import EventOut

router = Router(tags=["escalations"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # guaranteed by the API's authentication
    return user


class PersonOut(Schema):
    id: int
    username: str


class HopOut(Schema):
    id: int
    type: str
    from_level: int
    to_level: int
    from_team_id: int | None
    to_team_id: int | None
    from_user_id: int | None
    to_user_id: int | None
    from_tier: int | None
    to_tier: int | None
    note: str
    actor_id: int | None
    at: datetime
    response_due_at: datetime | None
    responded_at: datetime | None


class ActionStepOut(Schema):
    id: int
    position: int
    title: str
    role: str
    assignee_id: int | None
    due_at: datetime | None
    done_at: datetime | None
    done_by_id: int | None
    playbook_name: str


class ContributorOut(Schema):
    user_id: int
    username: str = Field(alias="user.username")
    role: str
    added_at: datetime


class ApprovalOut(Schema):
    id: int
    state: str
    approver_roles: list[str]
    approver_ids: list[int]
    requested_by_id: int | None
    requested_at: datetime
    note: str
    decided_by_id: int | None
    decided_at: datetime | None
    comment: str


class RootCauseOut(Schema):
    category: str | None
    description: str
    corrective_action: str
    preventive_action: str
    owning_team_id: int | None
    customer_summary: str
    recorded_at: datetime
    missing: list[str]


class EscalationOut(Schema):
    id: int
    ticket_id: int
    ticket_number: int | None = Field(alias="ticket.number")
    type: str
    status: str
    level: int
    path: list[dict[str, Any]]
    path_reason: str
    reason: str = Field(alias="reason.slug")
    reason_text: str
    tags: list[str]
    severity: str
    category: str | None
    from_team_id: int | None
    to_team_id: int | None
    from_user_id: int | None
    to_user_id: int | None
    owner_id: int | None
    handoff_note: str
    risk_likelihood: int | None
    risk_impact: int | None
    risk_score: int | None
    re_escalation_count: int
    is_resolution_held: bool
    opened_at: datetime
    acknowledged_at: datetime | None
    in_progress_at: datetime | None
    awaiting_approval_at: datetime | None
    resolved_at: datetime | None
    de_escalated_at: datetime | None
    reopened_at: datetime | None

    @staticmethod
    def resolve_category(obj: Escalation) -> str | None:
        return obj.category.slug if obj.category else None


class EscalationDetailOut(EscalationOut):
    context: dict[str, Any]
    hops: list[HopOut]
    action_steps: list[ActionStepOut]
    contributors: list[ContributorOut]
    approvals: list[ApprovalOut]
    root_cause: RootCauseOut | None

    @staticmethod
    def resolve_hops(obj: Escalation) -> list[Any]:
        return list(obj.hops.all())

    @staticmethod
    def resolve_action_steps(obj: Escalation) -> list[Any]:
        return list(obj.action_steps.all())

    @staticmethod
    def resolve_contributors(obj: Escalation) -> list[Any]:
        return list(obj.contributors.all())

    @staticmethod
    def resolve_approvals(obj: Escalation) -> list[Any]:
        return list(obj.approvals.all())

    @staticmethod
    def resolve_root_cause(obj: Escalation) -> dict[str, Any] | None:
        root = selectors.root_cause_of(obj)
        if root is None:
            return None
        return {
            "category": root.category.slug if root.category else None,
            "description": root.description,
            "corrective_action": root.corrective_action,
            "preventive_action": root.preventive_action,
            "owning_team_id": root.owning_team_id,
            "customer_summary": root.customer_summary,
            "recorded_at": root.recorded_at,
            "missing": records.root_cause_missing(obj),
        }


class EscalationPage(Schema):
    items: list[EscalationOut]
    count: int


def _detail(escalation_id: int) -> Escalation:
    return selectors.escalation_for_output(escalation_id=escalation_id)


class EscalateIn(StrictSchema):
    reason: str = Field(description="A reason's slug (GET /escalation-reasons)")
    handoff_note: str = Field(description="What was tried, what is known, what the next person should do")
    reason_text: str = ""
    level: int | None = Field(default=None, ge=1, le=20, description="Leads and managers: skip to this level")
    to_user_id: DbId | None = None
    tags: list[str] = Field(default_factory=list)
    category: str | None = Field(default=None, description="A decision category's slug; default: the ticket category's")
    risk_likelihood: int | None = None
    risk_impact: int | None = None
    from_level: int | None = Field(
        default=None,
        description="The level you saw (0 when the ticket was not escalated yet): a repeat of the same click within two "
        "minutes returns the same escalation, someone else's escalation in between is a 409",
    )


def _agent(user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).select_related("agent_profile").first()
    if user is None:
        raise ValidationFailed.one(field, f"There is no user {user_id}.")
    return user


@router.post("/tickets/{id:ticket_id}/escalations", response={201: EscalationDetailOut, **ERRORS}, summary="Escalate up")
def escalation_escalate(request: HttpRequest, ticket_id: int, payload: EscalateIn) -> Status[Escalation]:
    """Opens the escalation record, or raises the active one: one level up the path (the matrix
    cell for the decision category × severity, else the team's tiers and then its escalation
    manager). Agents go one level at a time; leads and managers may give `level`. Past the top: 409."""
    user = _user(request)
    with transaction.atomic():
        ticket = ticket_selectors.ticket_get_accessible(
            user=user, ticket_id=ticket_id, action=ticket_selectors.TicketAction.CHANGE
        )
        escalation = escalating.escalate(
            ticket=ticket,
            actor=user,
            request=escalating.EscalateRequest(
                reason=payload.reason,
                handoff_note=payload.handoff_note,
                reason_text=payload.reason_text,
                level=payload.level,
                to_user=_agent(payload.to_user_id, "to_user_id"),
                tags=tuple(payload.tags),
                category=payload.category,
                risk_likelihood=payload.risk_likelihood,
                risk_impact=payload.risk_impact,
                seen_level=payload.from_level,
            ),
        )
    return Status(201, _detail(escalation.pk))


class TransferIn(StrictSchema):
    team_id: DbId
    reason: str
    handoff_note: str
    to_user_id: DbId | None = None
    reason_text: str = ""


@router.post("/tickets/{id:ticket_id}/transfer", response={201: EscalationDetailOut, **ERRORS}, summary="Transfer to a team")
def escalation_transfer(request: HttpRequest, ticket_id: int, payload: TransferIn) -> Status[Escalation]:
    """Functional escalation: the customer's SLA clocks carry on; the receiving team's response
    target (Team.transfer_target_minutes) starts its own clock on the hop."""
    user = _user(request)
    team = Team.objects.filter(pk=payload.team_id).first()
    if team is None:
        raise ValidationFailed.one("team_id", f"There is no team {payload.team_id}.")
    with transaction.atomic():
        ticket = ticket_selectors.ticket_get_accessible(
            user=user, ticket_id=ticket_id, action=ticket_selectors.TicketAction.CHANGE
        )
        escalation = escalating.transfer(
            ticket=ticket,
            actor=user,
            team=team,
            reason=payload.reason,
            handoff_note=payload.handoff_note,
            to_user=_agent(payload.to_user_id, "to_user_id"),
            reason_text=payload.reason_text,
        )
    return Status(201, _detail(escalation.pk))


class RequestIn(StrictSchema):
    reason_text: str = Field(description="Why the customer wants it escalated")


class CustomerEscalationOut(Schema):
    level: int
    status: str
    message: str


@router.post(
    "/tickets/{id:ticket_id}/escalation-request",
    response={201: CustomerEscalationOut, **ERRORS},
    summary="Ask for an escalation (customers)",
)
def escalation_request(request: HttpRequest, ticket_id: int, payload: RequestIn) -> Status[dict[str, Any]]:
    user = _user(request)
    with transaction.atomic():
        ticket = ticket_selectors.ticket_get_accessible(
            user=user, ticket_id=ticket_id, action=ticket_selectors.TicketAction.REPLY
        )
        escalation = escalating.customer_request(ticket=ticket, actor=user, reason_text=payload.reason_text)
    return Status(
        201,
        {
            "level": escalation.level,
            "status": escalation.status,
            "message": "Your request is escalated; a senior specialist has it now and will write to you.",
        },
    )


class BoardQuery(Schema):
    status: list[str] | None = None
    level: int | None = Field(default=None, ge=1, le=100)
    team_id: DbId | None = None
    severity: list[str] | None = None
    category: str | None = None
    owner_id: DbId | None = None
    type: str | None = None
    limit: int = Field(default=100, ge=1, le=500)


@router.get("/escalations", response={200: EscalationPage, **ERRORS}, summary="The escalation board")
def escalation_board(request: HttpRequest, params: Query[BoardQuery]) -> dict[str, Any]:
    """Unacknowledged (open, reopened) first, then oldest first. Repeat status or severity for OR."""
    rows = selectors.escalation_list_accessible(user=_user(request))
    rows = selectors.escalation_filter(
        rows,
        selectors.EscalationFilters(
            status=params.status,
            level=params.level,
            team_id=params.team_id,
            severity=params.severity,
            category=params.category,
            owner_id=params.owner_id,
            type=params.type,
        ),
    )
    return {"items": list(selectors.board_order(rows)[: params.limit]), "count": rows.count()}


@router.get("/escalations/{id:escalation_id}", response={200: EscalationDetailOut, **ERRORS}, summary="An escalation's case file")
def escalation_get(request: HttpRequest, escalation_id: int) -> Escalation:
    selectors.escalation_get_accessible(user=_user(request), escalation_id=escalation_id)
    return _detail(escalation_id)


@router.get("/escalations/{id:escalation_id}/events", response={200: list[EventOut], **ERRORS}, summary="Its timeline")
def escalation_events(request: HttpRequest, escalation_id: int) -> list[object]:
    selectors.escalation_get_accessible(user=_user(request), escalation_id=escalation_id)
    return list(event_list_for_subject(subject_type="escalation", subject_id=escalation_id))


class StatusIn(StrictSchema):
    status: str = Field(description="acknowledged | in_progress (resolve, sign-off and de-escalate have their own calls)")
    note: str = ""


@router.post("/escalations/{id:escalation_id}/status", response={200: EscalationDetailOut, **ERRORS}, summary="Move it")
def escalation_status(request: HttpRequest, escalation_id: int, payload: StatusIn) -> Escalation:
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        escalation = records.escalation_lock(escalation_id=escalation.pk)
        records.escalation_status_set(
            escalation=escalation, status=payload.status, actor=user, now=timezone.now(), note=payload.note
        )
    return _detail(escalation_id)


class NoteIn(StrictSchema):
    note: str


@router.post("/escalations/{id:escalation_id}/de-escalate", response={200: EscalationDetailOut, **ERRORS}, summary="De-escalate")
def escalation_de_escalate(request: HttpRequest, escalation_id: int, payload: NoteIn) -> Escalation:
    """Back to where the escalation found the ticket; the record ends as de-escalated."""
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id, moves_ticket=True)
        escalating.de_escalate(escalation=escalation, actor=user, note=payload.note)
    return _detail(escalation_id)


class EscalationPatchIn(StrictSchema):
    owner_id: DbId | None = None
    tags: list[str] | None = None
    reason_text: str | None = None
    risk_likelihood: int | None = None
    risk_impact: int | None = None


@router.patch("/escalations/{id:escalation_id}", response={200: EscalationDetailOut, **ERRORS}, summary="Change it")
def escalation_update(request: HttpRequest, escalation_id: int, payload: EscalationPatchIn) -> Escalation:
    user = _user(request)
    sent = payload.model_dump(exclude_unset=True)
    now = timezone.now()
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        escalation = records.escalation_lock(escalation_id=escalation.pk)
        if "owner_id" in sent:
            records.require_manager_or_owner(user=user, escalation=escalation, what="hand the escalation to another owner")
            records.escalation_set_owner(escalation=escalation, owner=_agent(sent["owner_id"], "owner_id"), actor=user, now=now)
        if "tags" in sent or "reason_text" in sent:
            records.escalation_set_details(
                escalation=escalation, tags=sent.get("tags"), reason_text=sent.get("reason_text"), actor=user, now=now
            )
        if "risk_likelihood" in sent or "risk_impact" in sent:
            records.escalation_set_risk(
                escalation=escalation,
                likelihood=sent.get("risk_likelihood", escalation.risk_likelihood),
                impact=sent.get("risk_impact", escalation.risk_impact),
                actor=user,
                now=now,
            )
    return _detail(escalation_id)


@router.post(
    "/escalations/{id:escalation_id}/playbooks/{id:playbook_id}",
    response={200: EscalationDetailOut, **ERRORS},
    summary="Add a playbook's steps to the action plan",
)
def escalation_apply_playbook(request: HttpRequest, escalation_id: int, playbook_id: int) -> Escalation:
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        playbook = Playbook.objects.filter(pk=playbook_id, is_active=True).first()
        if playbook is None:
            raise NotFound(f"No active playbook with id {playbook_id}.")
        records.action_plan_apply(escalation=escalation, playbook=playbook, actor=user, now=timezone.now())
    return _detail(escalation_id)


class StepIn(StrictSchema):
    title: str
    role: str = ""
    assignee_id: DbId | None = None
    due_at: datetime | None = None


class StepPatchIn(StrictSchema):
    title: str | None = None
    role: str | None = None
    assignee_id: DbId | None = None
    due_at: datetime | None = None
    is_done: bool | None = None


@router.post("/escalations/{id:escalation_id}/steps", response={201: ActionStepOut, **ERRORS}, summary="Add a step")
def action_step_add(request: HttpRequest, escalation_id: int, payload: StepIn) -> Status[ActionStep]:
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        step = records.action_step_add(escalation=escalation, data=payload.model_dump(), actor=user, now=timezone.now())
    return Status(201, step)


@router.patch(
    "/escalations/{id:escalation_id}/steps/{id:step_id}", response={200: ActionStepOut, **ERRORS}, summary="Edit or tick a step"
)
def action_step_update(request: HttpRequest, escalation_id: int, step_id: int, payload: StepPatchIn) -> ActionStep:
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        step = ActionStep.objects.filter(pk=step_id, escalation=escalation).select_related("escalation").first()
        if step is None:
            raise NotFound(f"No step {step_id} on escalation {escalation_id}.")
        sent = payload.model_dump(exclude_unset=True)
        for name in ("title", "is_done"):
            if name in sent and sent[name] is None:
                raise ValidationFailed.one(name, "Cannot be null.")
        return records.action_step_update(step=step, data=sent, actor=user, now=timezone.now())


class ContributorIn(StrictSchema):
    user_id: DbId
    role: str = Field(default="", max_length=60)


@router.post(
    "/escalations/{id:escalation_id}/contributors", response={201: EscalationDetailOut, **ERRORS}, summary="Add a contributor"
)
def contributor_add(request: HttpRequest, escalation_id: int, payload: ContributorIn) -> Status[Escalation]:
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        person = _agent(payload.user_id, "user_id")
        assert person is not None
        records.contributor_add(escalation=escalation, user=person, role=payload.role, actor=user, now=timezone.now())
    return Status(201, _detail(escalation_id))


@router.delete(
    "/escalations/{id:escalation_id}/contributors/{id:user_id}", response={204: None, **ERRORS}, summary="Remove a contributor"
)
def contributor_remove(request: HttpRequest, escalation_id: int, user_id: int) -> Status[None]:
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        records.contributor_remove(escalation=escalation, user_id=user_id, actor=user, now=timezone.now())
    return Status(204, None)


@router.post(
    "/escalations/{id:escalation_id}/approvals", response={201: EscalationDetailOut, **ERRORS}, summary="Request sign-off"
)
def approval_request(request: HttpRequest, escalation_id: int, payload: NoteIn) -> Status[Escalation]:
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        escalation = records.escalation_lock(escalation_id=escalation.pk)
        records.approval_request(escalation=escalation, actor=user, note=payload.note, now=timezone.now())
    return Status(201, _detail(escalation_id))


class DecisionIn(StrictSchema):
    approve: bool
    comment: str = ""


@router.post(
    "/escalations/{id:escalation_id}/approvals/decide",
    response={200: EscalationDetailOut, **ERRORS},
    summary="Approve or reject (approvers)",
)
def approval_decide(request: HttpRequest, escalation_id: int, payload: DecisionIn) -> Escalation:
    """Only the approvers frozen on the request (by role or by name) decide; others get 403 and
    nothing changes. Approving releases a held resolution (the ticket is solved, the customer told)."""
    user = _user(request)
    escalation = selectors.escalation_get_accessible(user=user, escalation_id=escalation_id)
    escalating.decide(escalation=escalation, actor=user, is_approved=payload.approve, comment=payload.comment)
    return _detail(escalation_id)


class RootCauseIn(StrictSchema):
    category: str | None = None
    description: str | None = None
    corrective_action: str | None = None
    preventive_action: str | None = None
    owning_team_id: DbId | None = None
    customer_summary: str | None = Field(default=None, description="Goes into the customer's resolution message")


@router.put("/escalations/{id:escalation_id}/root-cause", response={200: EscalationDetailOut, **ERRORS}, summary="Save the RCA")
def root_cause_save(request: HttpRequest, escalation_id: int, payload: RootCauseIn) -> Escalation:
    """Saves what is sent (partial saves are fine); resolving needs every field."""
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        records.root_cause_save(
            escalation=escalation, data=payload.model_dump(exclude_unset=True), actor=user, now=timezone.now()
        )
    return _detail(escalation_id)


@router.post("/escalations/{id:escalation_id}/resolve", response={200: EscalationDetailOut, **ERRORS}, summary="Resolve")
def escalation_resolve(request: HttpRequest, escalation_id: int) -> Escalation:
    """Needs the complete root cause (422 naming what is missing). Where sign-off is required and
    not given yet, the resolution is held (status awaiting_approval, is_resolution_held true)."""
    user = _user(request)
    with transaction.atomic():
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id, moves_ticket=True)
        escalating.resolve(escalation=escalation, actor=user)
    return _detail(escalation_id)


class CustomerEscalationStatusOut(Schema):
    is_escalated: bool
    level: int | None = None
    holder: str | None = None
    since: datetime | None = None
    next_update_due: datetime | None = None
    status: str | None = None


@router.get(
    "/tickets/{id:ticket_id}/escalation-status",
    response={200: CustomerEscalationStatusOut, **ERRORS},
    summary="The escalation in customer words",
)
def escalation_status_for_customer(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    """What the customer may know: who has it (in words, no names), since when, and when they
    will hear next. The same for staff, to see what the customer sees."""
    ticket = ticket_selectors.ticket_get_accessible(user=_user(request), ticket_id=ticket_id)
    view = escalating.customer_view(ticket=ticket)
    if view is None:
        return {"is_escalated": False}
    return {
        "is_escalated": True,
        "level": view.level,
        "holder": view.holder,
        "since": view.since,
        "next_update_due": view.next_update_due,
        "status": view.status,
    }
