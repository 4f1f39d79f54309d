"""The escalation page (the case file) and its forms. Each POST calls the same record write or
desk verb as the REST API (`escalation_api.py`) and redirects back; field errors go next to
their fields, a 403 or 409 sentence on top, and nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from escalada.audit.selectors import event_list_for_subject
from escalada.base.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from escalada.desk import escalate as escalating
from escalada.desk.escalation_views.common import (
    UNACKNOWLEDGED,
    request_user,
    severity_label_of,
)
from escalada.desk.escalation_views.forms import (
    ROOT_CAUSE_ALIASES,
    STEP_ALIASES,
    ApprovalRequestForm,
    ContributorForm,
    DecisionForm,
    NoteForm,
    PlaybookForm,
    RootCauseForm,
    StepDoneForm,
    StepForm,
)
from escalada.escalations import records, selectors
from escalada.escalations.models import (
    ActionStep,
    ApprovalState,
    Escalation,
    EscalationStatus,
    Playbook,
)
from escalada.sla.views import absolute, relative, viewer_zone
from escalada.tickets.forms import apply_service_errors

# --- the case file --------------------------------------------------------------------------------


def _when(at: datetime | str | None, now: datetime, zone: ZoneInfo) -> dict[str, str] | None:
    """A time as the page shows it: relative, with the absolute time for the hover."""
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return {"relative": relative(at, now), "absolute": absolute(at, zone), "iso": at.isoformat()}


def _stamps(escalation: Escalation, now: datetime, zone: ZoneInfo) -> list[tuple[str, dict[str, str]]]:
    pairs = [
        ("Opened", escalation.opened_at),
        ("Acknowledged", escalation.acknowledged_at),
        ("In progress", escalation.in_progress_at),
        ("Awaiting approval", escalation.awaiting_approval_at),
        ("Resolved", escalation.resolved_at),
        ("De-escalated", escalation.de_escalated_at),
        ("Reopened", escalation.reopened_at),
    ]
    return [(label, when) for label, at in pairs if (when := _when(at, now, zone)) is not None]


TIMELINE_KEYS = ("level", "to", "to_team", "status", "note", "handoff_note", "playbook", "title", "user", "role", "comment")


def _timeline(escalation_id: int, now: datetime, zone: ZoneInfo) -> list[dict[str, Any]]:
    events = []
    for event in event_list_for_subject(subject_type="escalation", subject_id=escalation_id):
        after = event.after if isinstance(event.after, dict) else {}
        details = [f"{key.replace('_', ' ')}: {after[key]}" for key in TIMELINE_KEYS if after.get(key) not in (None, "", [])]
        events.append(
            {
                "kind": event.kind,
                "actor": event.actor_label or "system",
                "when": _when(event.occurred_at, now, zone),
                "details": details,
            }
        )
    return events


def _snapshot(escalation: Escalation, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    raw = escalation.context if isinstance(escalation.context, dict) else {}
    return {
        "customer": raw.get("customer") or {},
        "history": raw.get("history") or {},
        "ticket": raw.get("ticket") or {},
        "sla": [
            {**clock, "due": _when(clock.get("due_at"), now, zone), "breached": _when(clock.get("breached_at"), now, zone)}
            for clock in raw.get("sla") or []
        ],
        "last_messages": [{**message, "when": _when(message.get("at"), now, zone)} for message in raw.get("last_messages") or []],
    }


def _root_cause_initial(escalation: Escalation) -> dict[str, Any]:
    root = selectors.root_cause_of(escalation)
    if root is None:
        return {}
    return {
        "category": root.category.slug if root.category else None,
        "description": root.description,
        "corrective_action": root.corrective_action,
        "preventive_action": root.preventive_action,
        "owning_team": root.owning_team_id,
        "customer_summary": root.customer_summary,
    }


def _page_context(request: HttpRequest, escalation_id: int, **forms_given: Any) -> dict[str, Any]:
    user = request_user(request)
    escalation = selectors.escalation_for_output(escalation_id=escalation_id)
    now, zone = timezone.now(), viewer_zone(user)
    hops = list(escalation.hops.all())
    prefetch_related_objects(hops, "to_user", "from_user")
    approvals = list(escalation.approvals.all())
    prefetch_related_objects(approvals, "requested_by")
    pending = next((a for a in approvals if a.state == ApprovalState.PENDING), None)
    may_change = selectors.escalation_may_change(user=user, escalation=escalation)
    try:
        records.require_manager_or_owner(user=user, escalation=escalation, what="acknowledge it")
        may_acknowledge = True
    except PermissionDenied:
        may_acknowledge = False
    steps = [
        {
            "step": step,
            "due": _when(step.due_at, now, zone),
            "is_overdue": step.done_at is None and step.due_at is not None and step.due_at < now,
        }
        for step in escalation.action_steps.all()
    ]
    status = escalation.status
    missing = records.root_cause_missing(escalation)
    return {
        "nav": "escalations",
        "escalation": escalation,
        "ticket": escalation.ticket,
        "stamps": _stamps(escalation, now, zone),
        "snapshot": _snapshot(escalation, now, zone),
        "hops": [
            {
                "hop": hop,
                "at": _when(hop.at, now, zone),
                "due": _when(hop.response_due_at, now, zone),
                "responded": _when(hop.responded_at, now, zone),
                "is_late": hop.responded_at is None and hop.response_due_at is not None and hop.response_due_at < now,
            }
            for hop in hops
        ],
        "steps": steps,
        "contributors": list(escalation.contributors.all()),
        "approvals": [
            {"approval": a, "requested": _when(a.requested_at, now, zone), "decided": _when(a.decided_at, now, zone)}
            for a in approvals
        ],
        "pending_approval": pending,
        "may_decide": pending is not None and records.may_approve(user=user, approval=pending, escalation=escalation),
        "root_cause_missing": missing,
        "root_cause_missing_words": ", ".join(name.replace("_", " ") for name in missing),
        "severity_label": severity_label_of(escalation.severity),
        "timeline": _timeline(escalation.pk, now, zone),
        "may_change": may_change,
        "is_active": escalation.is_active,
        "may_acknowledge": may_change and may_acknowledge and status in UNACKNOWLEDGED,
        "may_start": may_change and status in (EscalationStatus.OPEN, EscalationStatus.REOPENED, EscalationStatus.ACKNOWLEDGED),
        "may_request_approval": may_change and escalation.is_active and pending is None,
        "zone": zone.key,
        "de_escalate_form": forms_given.get("de_escalate_form") or NoteForm(prefix="de"),
        "approval_form": forms_given.get("approval_form") or ApprovalRequestForm(prefix="approval"),
        "decision_form": forms_given.get("decision_form") or DecisionForm(prefix="decision"),
        "step_form": forms_given.get("step_form") or StepForm(prefix="step"),
        "has_playbooks": Playbook.objects.filter(is_active=True).exists(),
        "playbook_form": forms_given.get("playbook_form") or PlaybookForm(prefix="playbook"),
        "contributor_form": forms_given.get("contributor_form") or ContributorForm(prefix="contributor"),
        "root_cause_form": forms_given.get("root_cause_form")
        or RootCauseForm(prefix="rca", initial=_root_cause_initial(escalation)),
        "error": forms_given.get("error"),
    }


def _accessible(request: HttpRequest, escalation_id: int) -> Escalation:
    try:
        return selectors.escalation_get_accessible(user=request_user(request), escalation_id=escalation_id)
    except NotFound:
        raise Http404("No such escalation.") from None


@login_required
def escalation_detail(request: HttpRequest, escalation_id: int) -> HttpResponse:
    _accessible(request, escalation_id)
    return render(request, "desk/escalations/detail.html", _page_context(request, escalation_id))


def _act(
    request: HttpRequest,
    escalation_id: int,
    work: Callable[[User], str],
    *,
    form: forms.Form | None = None,
    form_key: str = "",
    aliases: dict[str, str] | None = None,
    anchor: str = "",
) -> HttpResponse:
    """Run one write for the escalation page: redirect back with a message on success; on a
    refusal show the page again with the error where it belongs (and nothing changed)."""
    _accessible(request, escalation_id)
    error: str | None = None
    status = 200
    if form is not None and not form.is_valid():
        status = 422
    else:
        try:
            with transaction.atomic():
                message = work(request_user(request))
        except NotFound as exc:
            raise Http404(exc.message) from None
        except ValidationFailed as exc:
            status = 422
            if form is not None:
                apply_service_errors(form, exc, aliases)
                if not any(name in form.fields for name in ((aliases or {}).get(k, k) for k in exc.errors)):
                    error = exc.message
            else:
                error = " ".join([exc.message, *exc.errors.values()])
        except ServiceError as exc:  # PermissionDenied (403), Conflict (409)
            status, error = exc.status, exc.message
        else:
            messages.success(request, message)
            response = redirect("escalation-detail", escalation_id=escalation_id)
            if anchor:
                response["Location"] += f"#{anchor}"
            return response
    forms_given: dict[str, Any] = {"error": error}
    if form is not None and form_key:
        forms_given[form_key] = form
    return render(request, "desk/escalations/detail.html", _page_context(request, escalation_id, **forms_given), status=status)


@login_required
@require_POST
def escalation_status(request: HttpRequest, escalation_id: int) -> HttpResponse:
    target = request.POST.get("status", "")

    def work(user: User) -> str:
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        escalation = records.escalation_lock(escalation_id=escalation.pk)
        records.escalation_status_set(escalation=escalation, status=target, actor=user, now=timezone.now())
        if target == "acknowledged":
            return "Acknowledged: the response target of this level is met."
        return "Work has started on this escalation."

    return _act(request, escalation_id, work)


@login_required
@require_POST
def escalation_de_escalate(request: HttpRequest, escalation_id: int) -> HttpResponse:
    form = NoteForm(request.POST, prefix="de")

    def work(user: User) -> str:
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id, moves_ticket=True)
        escalating.de_escalate(escalation=escalation, actor=user, note=form.cleaned_data["note"])
        return "De-escalated: the ticket is back where the escalation found it."

    return _act(request, escalation_id, work, form=form, form_key="de_escalate_form")


@login_required
@require_POST
def escalation_resolve(request: HttpRequest, escalation_id: int) -> HttpResponse:
    user = request_user(request)
    # The root cause's missing fields show next to the RCA form's fields.
    saved = _root_cause_initial(_accessible(request, escalation_id))
    form = RootCauseForm({f"rca-{name}": "" if value is None else value for name, value in saved.items()}, prefix="rca")
    form.is_valid()  # bound to what is saved, so the resolve errors can sit next to its fields
    try:
        with transaction.atomic():
            escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id, moves_ticket=True)
            escalation = escalating.resolve(escalation=escalation, actor=user)
    except ValidationFailed as exc:
        apply_service_errors(form, exc, ROOT_CAUSE_ALIASES)
        context = _page_context(request, escalation_id, root_cause_form=form, error=exc.message)
        return render(request, "desk/escalations/detail.html", context, status=422)
    except NotFound:
        raise Http404("No such escalation.") from None
    except ServiceError as exc:
        context = _page_context(request, escalation_id, error=exc.message)
        return render(request, "desk/escalations/detail.html", context, status=exc.status)
    if escalation.is_resolution_held:
        messages.success(request, "The resolution waits for sign-off: the customer hears of it once an approver approves.")
    else:
        messages.success(request, "Resolved: the ticket is solved and the customer has the root-cause summary.")
    return redirect("escalation-detail", escalation_id=escalation_id)


@login_required
@require_POST
def escalation_step_add(request: HttpRequest, escalation_id: int) -> HttpResponse:
    user = request_user(request)
    form = StepForm(request.POST, prefix="step")
    with timezone.override(viewer_zone(user)):  # the due time was typed in the viewer's zone
        form.is_valid()

    def work(user: User) -> str:
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        data = form.cleaned_data
        step = records.action_step_add(
            escalation=escalation,
            data={
                "title": data["title"],
                "role": data.get("role") or "",
                "assignee_id": data["assignee"].pk if data.get("assignee") else None,
                "due_at": data.get("due_at"),
            },
            actor=user,
            now=timezone.now(),
        )
        return f"Step added: {step.title}."

    return _act(request, escalation_id, work, form=form, form_key="step_form", aliases=STEP_ALIASES, anchor="plan")


@login_required
@require_POST
def escalation_step_done(request: HttpRequest, escalation_id: int, step_id: int) -> HttpResponse:
    form = StepDoneForm(request.POST)

    def work(user: User) -> str:
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        step = ActionStep.objects.filter(pk=step_id, escalation=escalation).select_related("escalation").first()
        if step is None:
            raise NotFound(f"No step {step_id} on escalation {escalation_id}.")
        is_done = bool(form.cleaned_data["is_done"])
        records.action_step_update(step=step, data={"is_done": is_done}, actor=user, now=timezone.now())
        return f"Step “{step.title}” is {'done' if is_done else 'open again'}."

    return _act(request, escalation_id, work, form=form, anchor="plan")


@login_required
@require_POST
def escalation_playbook(request: HttpRequest, escalation_id: int) -> HttpResponse:
    form = PlaybookForm(request.POST, prefix="playbook")

    def work(user: User) -> str:
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        playbook: Playbook = form.cleaned_data["playbook"]
        steps = records.action_plan_apply(escalation=escalation, playbook=playbook, actor=user, now=timezone.now())
        return f"Added {len(steps)} step(s) from the playbook {playbook.name}."

    return _act(request, escalation_id, work, form=form, form_key="playbook_form", anchor="plan")


@login_required
@require_POST
def escalation_contributor_add(request: HttpRequest, escalation_id: int) -> HttpResponse:
    form = ContributorForm(request.POST, prefix="contributor")

    def work(user: User) -> str:
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        person: User = form.cleaned_data["user"]
        records.contributor_add(
            escalation=escalation, user=person, role=form.cleaned_data.get("role") or "", actor=user, now=timezone.now()
        )
        return f"{person.get_full_name() or person.get_username()} contributes to this escalation."

    return _act(
        request,
        escalation_id,
        work,
        form=form,
        form_key="contributor_form",
        aliases={"user_id": "user"},
        anchor="contributors",
    )


@login_required
@require_POST
def escalation_contributor_remove(request: HttpRequest, escalation_id: int, user_id: int) -> HttpResponse:
    def work(user: User) -> str:
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        records.contributor_remove(escalation=escalation, user_id=user_id, actor=user, now=timezone.now())
        return "Contributor removed."

    return _act(request, escalation_id, work, anchor="contributors")


@login_required
@require_POST
def escalation_approval_request(request: HttpRequest, escalation_id: int) -> HttpResponse:
    form = ApprovalRequestForm(request.POST, prefix="approval")

    def work(user: User) -> str:
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        escalation = records.escalation_lock(escalation_id=escalation.pk)
        records.approval_request(escalation=escalation, actor=user, note=form.cleaned_data.get("note") or "", now=timezone.now())
        return "Sign-off requested: the approvers are told."

    return _act(request, escalation_id, work, form=form, form_key="approval_form", anchor="approvals")


@login_required
@require_POST
def escalation_approval_decide(request: HttpRequest, escalation_id: int) -> HttpResponse:
    form = DecisionForm(request.POST, prefix="decision")

    def work(user: User) -> str:
        escalation = selectors.escalation_get_accessible(user=user, escalation_id=escalation_id)
        is_approved = form.cleaned_data["decision"] == "approve"
        escalating.decide(
            escalation=escalation, actor=user, is_approved=is_approved, comment=form.cleaned_data.get("comment") or ""
        )
        return "Approved." if is_approved else "Rejected: the escalation is back in progress."

    return _act(request, escalation_id, work, form=form, form_key="decision_form", anchor="approvals")


@login_required
@require_POST
def escalation_root_cause(request: HttpRequest, escalation_id: int) -> HttpResponse:
    form = RootCauseForm(request.POST, prefix="rca")

    def work(user: User) -> str:
        escalation = selectors.escalation_get_changeable(user=user, escalation_id=escalation_id)
        data = form.cleaned_data
        records.root_cause_save(
            escalation=escalation,
            data={
                "category": data["category"].slug if data.get("category") else None,
                "description": data.get("description") or "",
                "corrective_action": data.get("corrective_action") or "",
                "preventive_action": data.get("preventive_action") or "",
                "owning_team_id": data["owning_team"].pk if data.get("owning_team") else None,
                "customer_summary": data.get("customer_summary") or "",
            },
            actor=user,
            now=timezone.now(),
        )
        missing = records.root_cause_missing(escalation)
        if missing:
            return f"Root cause saved; still missing for resolve: {', '.join(m.replace('_', ' ') for m in missing)}."
        return "Root cause saved; it is complete."

    return _act(
        request, escalation_id, work, form=form, form_key="root_cause_form", aliases=ROOT_CAUSE_ALIASES, anchor="root-cause"
    )
