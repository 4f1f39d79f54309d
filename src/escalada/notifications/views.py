from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from escalada.base.errors import Conflict, NotFound, PermissionDenied
from escalada.base.pagination import paginate_by_id
from escalada.notifications import selectors, services
from escalada.notifications.models import OutboxState

SHOWN_STATES = {
    "problems": [OutboxState.DEAD, OutboxState.FAILED],
    "pending": [OutboxState.QUEUED, OutboxState.SENDING],
    "sent": [OutboxState.SENT],
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
def outbox_list(request: HttpRequest) -> HttpResponse:
    """What went out and what did not: dead and failing messages first, each with replay."""
    view = request.GET.get("show", "problems")
    if view not in SHOWN_STATES:
        view = "problems"
    try:
        messages_ = selectors.outbox_list(user=_user(request), states=[s.value for s in SHOWN_STATES[view]])
    except PermissionDenied as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=403)
    page = paginate_by_id(messages_.select_related("ticket"), cursor=request.GET.get("cursor"), limit=50)
    return render(request, "notifications/outbox.html", {"nav": "outbox", "page": page, "show": view})


@login_required
@require_POST
def outbox_replay(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = selectors.outbox_get(user=_user(request), message_id=message_id)
        services.outbox_replay(message=message, actor=_user(request))
    except PermissionDenied as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=403)
    except NotFound as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=404)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("outbox-list")
    messages.success(request, f"Message {message_id} is queued again; the worker sends it within a second.")
    return redirect("outbox-list")
