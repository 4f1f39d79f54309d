from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from escalada.base.errors import Conflict, NotFound, PermissionDenied
from escalada.base.pagination import paginate_by_id
from escalada.desk.mail import mail_reprocess
from escalada.notifications import selectors
from escalada.notifications.models import InboundState

SHOWN = {
    "problems": [InboundState.QUARANTINED, InboundState.RECEIVED],
    "ignored": [InboundState.IGNORED],
    "processed": [InboundState.PROCESSED],
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
def inbound_list(request: HttpRequest) -> HttpResponse:
    """Received mail: quarantined first, with the reason and a re-process button."""
    show = request.GET.get("show", "problems")
    if show not in SHOWN:
        show = "problems"
    try:
        mails = selectors.inbound_list(user=_user(request), states=[s.value for s in SHOWN[show]])
    except PermissionDenied as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=403)
    page = paginate_by_id(mails.select_related("ticket"), cursor=request.GET.get("cursor"), limit=50)
    return render(request, "notifications/inbound.html", {"nav": "outbox", "page": page, "show": show})


@login_required
@require_POST
def inbound_reprocess(request: HttpRequest, inbound_id: int) -> HttpResponse:
    try:
        inbound = mail_reprocess(inbound=selectors.inbound_get(user=_user(request), inbound_id=inbound_id))
    except PermissionDenied as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=403)
    except NotFound as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=404)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("inbound-list")
    if inbound.state == InboundState.PROCESSED:
        messages.success(request, f"Mail {inbound.pk} is now on ticket #{inbound.ticket.number if inbound.ticket else '?'}.")
    else:
        messages.error(request, f"Mail {inbound.pk} is still {inbound.get_state_display().lower()}: {inbound.reason}")
    return redirect("inbound-list")
