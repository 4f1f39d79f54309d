"""What the escalation pages share: the board's columns, the viewer, labels."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest

from escalada.escalations.models import (
    EscalationStatus,
)
from escalada.tickets.models import Severity

BOARD_LIMIT = 200
ACTIVE_COLUMNS = [
    EscalationStatus.OPEN,
    EscalationStatus.REOPENED,
    EscalationStatus.ACKNOWLEDGED,
    EscalationStatus.IN_PROGRESS,
    EscalationStatus.AWAITING_APPROVAL,
]
ENDED_COLUMNS = [EscalationStatus.RESOLVED, EscalationStatus.DE_ESCALATED]
SEVERITY_LABELS: dict[str, str] = {value: str(label) for value, label in Severity.choices}
UNACKNOWLEDGED = [EscalationStatus.OPEN.value, EscalationStatus.REOPENED.value]


def request_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def severity_label_of(value: str) -> str:
    return SEVERITY_LABELS.get(value, value)
