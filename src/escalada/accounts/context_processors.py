from __future__ import annotations

from django.http import HttpRequest

from escalada.accounts.models import Role
from escalada.accounts.selectors import is_staff_role, user_role


def viewer(request: HttpRequest) -> dict[str, object]:
    """What every page's navigation needs to know about the person looking at it."""
    role = user_role(user=request.user) if hasattr(request, "user") else None
    return {"viewer_role": role, "viewer_is_staff": is_staff_role(role), "viewer_is_customer": role == Role.CUSTOMER}
