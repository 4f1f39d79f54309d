"""Who sees what: the dashboard is for the whole support team, reports for team leads,
escalation managers and admins."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from escalada.accounts.models import Role
from escalada.accounts.selectors import is_staff_role, user_role

REPORT_ROLES = (Role.TEAM_LEAD, Role.ESCALATION_MANAGER, Role.ADMIN)


def may_see_dashboard(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.is_authenticated and is_staff_role(user_role(user=user))


def may_see_reports(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.is_authenticated and user_role(user=user) in REPORT_ROLES
