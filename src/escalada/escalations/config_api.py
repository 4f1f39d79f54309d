"""REST faces of what admins configure for escalations: reasons, decision categories, root-cause
categories, the matrix (with its gaps), playbooks, sign-off rules and settings. Staff read; admins write."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from escalada.accounts.models import Role
from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import NotFound, PermissionDenied
from escalada.base.schemas import DbId, ErrorOut, StrictSchema
from escalada.core.escalation import MatrixCell as CoreCell
from escalada.core.escalation import matrix_gaps
from escalada.escalations import configuration
from escalada.escalations.models import ApprovalRule, DecisionCategory, MatrixCell, Playbook
from escalada.escalations.records import escalation_settings, path_from_json
from escalada.tickets.models import Severity

router = Router(tags=["escalation settings"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
ListKind = Literal["reasons", "decision-categories", "root-cause-categories"]


def _staff(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if not is_staff_role(user_role(user=user)):
        raise PermissionDenied("Escalation settings are for the support team.")
    return user


def _admin(request: HttpRequest) -> User:
    user = _staff(request)
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins change escalation settings.")
    return user


class ListItemOut(Schema):
    id: int
    name: str
    slug: str
    rank: int
    is_active: bool


class ListItemIn(StrictSchema):
    name: str
    rank: int | None = Field(default=None, ge=0, le=100_000)
    is_active: bool | None = None


@router.get("/escalation-lists/{kind}", response={200: list[ListItemOut], **ERRORS}, summary="Reasons, categories …")
def list_items(request: HttpRequest, kind: ListKind) -> list[Any]:
    _staff(request)
    return list(configuration.LISTS[kind].objects.order_by("rank", "name"))


@router.post("/escalation-lists/{kind}", response={201: ListItemOut, **ERRORS}, summary="Add an entry (admins)")
def list_item_create(request: HttpRequest, kind: ListKind, payload: ListItemIn) -> Status[Any]:
    user = _admin(request)
    row = configuration.list_item_save(
        kind=kind, item_id=None, name=payload.name, rank=payload.rank, is_active=payload.is_active, actor=user, now=timezone.now()
    )
    return Status(201, row)


@router.put("/escalation-lists/{kind}/{id:item_id}", response={200: ListItemOut, **ERRORS}, summary="Rename or retire")
def list_item_update(request: HttpRequest, kind: ListKind, item_id: int, payload: ListItemIn) -> Any:
    user = _admin(request)
    if not configuration.LISTS[kind].objects.filter(pk=item_id).exists():
        raise NotFound(f"No entry {item_id} in {kind}.")
    return configuration.list_item_save(
        kind=kind,
        item_id=item_id,
        name=payload.name,
        rank=payload.rank,
        is_active=payload.is_active,
        actor=user,
        now=timezone.now(),
    )


class CellOut(Schema):
    id: int
    key: str
    category: str | None
    severity: str | None
    path: list[dict[str, Any]]
    updated_at: datetime

    @staticmethod
    def resolve_category(obj: MatrixCell) -> str | None:
        return obj.category.slug if obj.category else None


class MatrixOut(Schema):
    categories: list[str]
    severities: list[str]
    cells: list[CellOut]
    gaps: list[list[str]] = Field(description="[category, severity] pairs no cell or row covers: the default decides")
    has_default: bool


class CellIn(StrictSchema):
    category: str | None = None
    severity: str | None = None
    path: list[dict[str, Any]] = Field(
        description='Levels: {"tier": 2} · {"team_id": 4, "tier": 1} · {"role": "escalation_manager"} · {"user_id": 9}, '
        'each with optional "response_minutes"'
    )


@router.get("/escalation-matrix", response={200: MatrixOut, **ERRORS}, summary="The escalation matrix, with its gaps")
def matrix_get(request: HttpRequest) -> dict[str, Any]:
    _staff(request)
    cells = list(MatrixCell.objects.select_related("category"))
    categories = list(DecisionCategory.objects.filter(is_active=True).order_by("rank").values_list("slug", flat=True))
    core = [
        CoreCell(category=c.category.slug if c.category else None, severity=c.severity, path=path_from_json(c.path))
        for c in cells
    ]
    gaps = matrix_gaps(core, categories=categories, severities=list(Severity.values))
    return {
        "categories": categories,
        "severities": list(Severity.values),
        "cells": cells,
        "gaps": [list(gap) for gap in gaps],
        "has_default": any(c.category_id is None and c.severity is None for c in cells),
    }


@router.put("/escalation-matrix/cells", response={200: CellOut, **ERRORS}, summary="Set a cell (admins)")
def matrix_cell_set(request: HttpRequest, payload: CellIn) -> MatrixCell:
    user = _admin(request)
    return configuration.matrix_cell_set(
        category=payload.category, severity=payload.severity, path=payload.path, actor=user, now=timezone.now()
    )


@router.delete("/escalation-matrix/cells/{id:cell_id}", response={204: None, **ERRORS}, summary="Remove a cell (admins)")
def matrix_cell_delete(request: HttpRequest, cell_id: int) -> Status[None]:
    user = _admin(request)
    cell = MatrixCell.objects.filter(pk=cell_id).first()
    if cell is None:
        raise NotFound(f"No matrix cell {cell_id}.")
    configuration.matrix_cell_delete(cell=cell, actor=user, now=timezone.now())
    return Status(204, None)


class PlaybookOut(Schema):
    id: int
    name: str
    category: str | None
    steps: list[dict[str, Any]]
    is_active: bool

    @staticmethod
    def resolve_category(obj: Playbook) -> str | None:
        return obj.category.slug if obj.category else None


class PlaybookIn(StrictSchema):
    name: str
    category: str | None = None
    steps: list[dict[str, Any]] = Field(description='[{"title": "…", "role": "finance lead", "due_minutes": 120}, …]')
    is_active: bool = True


@router.get("/playbooks", response={200: list[PlaybookOut], **ERRORS}, summary="Playbooks")
def playbook_list(request: HttpRequest) -> list[Any]:
    _staff(request)
    return list(Playbook.objects.select_related("category"))


@router.post("/playbooks", response={201: PlaybookOut, **ERRORS}, summary="Add a playbook (admins)")
def playbook_create(request: HttpRequest, payload: PlaybookIn) -> Status[Playbook]:
    user = _admin(request)
    return Status(201, configuration.playbook_save(playbook=None, data=payload.model_dump(), actor=user, now=timezone.now()))


@router.put("/playbooks/{id:playbook_id}", response={200: PlaybookOut, **ERRORS}, summary="Change a playbook (admins)")
def playbook_update(request: HttpRequest, playbook_id: int, payload: PlaybookIn) -> Playbook:
    user = _admin(request)
    playbook = Playbook.objects.filter(pk=playbook_id).first()
    if playbook is None:
        raise NotFound(f"No playbook {playbook_id}.")
    return configuration.playbook_save(playbook=playbook, data=payload.model_dump(), actor=user, now=timezone.now())


class ApprovalRuleOut(Schema):
    id: int
    category: str | None
    severities: list[str]
    approver_roles: list[str]
    approver_ids: list[int]
    is_active: bool

    @staticmethod
    def resolve_category(obj: ApprovalRule) -> str | None:
        return obj.category.slug if obj.category else None

    @staticmethod
    def resolve_approver_ids(obj: ApprovalRule) -> list[int]:
        return sorted(user.pk for user in obj.approvers.all())


class ApprovalRuleIn(StrictSchema):
    category: str | None = None
    severities: list[str] = Field(default_factory=list)
    approver_roles: list[str] = Field(default_factory=list)
    approver_ids: list[DbId] = Field(default_factory=list)


@router.get("/approval-rules", response={200: list[ApprovalRuleOut], **ERRORS}, summary="Which escalations need sign-off")
def approval_rule_list(request: HttpRequest) -> list[Any]:
    _staff(request)
    return list(ApprovalRule.objects.select_related("category").prefetch_related("approvers"))


@router.post("/approval-rules", response={201: ApprovalRuleOut, **ERRORS}, summary="Require sign-off (admins)")
def approval_rule_create(request: HttpRequest, payload: ApprovalRuleIn) -> Status[ApprovalRule]:
    user = _admin(request)
    return Status(201, configuration.approval_rule_create(data=payload.model_dump(), actor=user, now=timezone.now()))


class SettingsOut(Schema):
    risk_appetite: int
    executive_ids: list[int]
    executive_emails: list[str]
    escalate_on_reopen: int | None

    @staticmethod
    def resolve_executive_ids(obj: Any) -> list[int]:
        return sorted(user.pk for user in obj.executives.all())


class SettingsIn(StrictSchema):
    risk_appetite: int | None = None
    executive_ids: list[DbId] | None = None
    executive_emails: list[str] | None = None
    escalate_on_reopen: int | None = None


@router.get("/escalation-settings", response={200: SettingsOut, **ERRORS}, summary="Risk appetite, executives, reopen rule")
def settings_get(request: HttpRequest) -> Any:
    _staff(request)
    return escalation_settings()


@router.put("/escalation-settings", response={200: SettingsOut, **ERRORS}, summary="Change them (admins)")
def settings_update(request: HttpRequest, payload: SettingsIn) -> Any:
    user = _admin(request)
    return configuration.settings_update(data=payload.model_dump(exclude_unset=True), actor=user, now=timezone.now())
