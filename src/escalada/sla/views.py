from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def sla_settings(request: HttpRequest) -> HttpResponse:
    return HttpResponse("todo")


calendar_edit = calendar_preview = policy_edit = policy_tester = sla_settings
