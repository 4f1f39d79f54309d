"""What the staff navigation shows about escalations: "Escalations N" (N unacknowledged).

It lives in the desk, not next to the `viewer` processor in accounts, because accounts may not
import the escalations area (the import-linter layers).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

from escalada.accounts.selectors import is_staff_role, user_role
from escalada.escalations.models import Escalation, EscalationStatus

UNACKNOWLEDGED = [EscalationStatus.OPEN.value, EscalationStatus.REOPENED.value]


def escalation_nav(request: HttpRequest) -> dict[str, Callable[[], int] | None]:
    """One COUNT, and only when a page's navigation renders the number: the template calls it."""
    user = getattr(request, "user", None)
    if user is None or not is_staff_role(user_role(user=user)):
        return {"escalations_unacknowledged": None}

    counted: list[int] = []

    def count() -> int:
        if not counted:
            counted.append(Escalation.objects.filter(status__in=UNACKNOWLEDGED).count())
        return counted[0]

    return {"escalations_unacknowledged": count}
