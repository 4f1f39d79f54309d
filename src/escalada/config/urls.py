from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import include, path
from django.utils import timezone
from django.views.generic import RedirectView

from escalada.config.api import api
from escalada.desk.magic_views import magic_link_request, magic_link_sign_in
from escalada.desk.queue_views import queue_next_ticket, queue_page, queue_view_delete, queue_view_save
from escalada.desk.reopen_views import support_reopen
from escalada.desk.team_views import team_page, team_reassign
from escalada.insights.health import health


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def health_view(request: HttpRequest) -> JsonResponse:
    """Workers' heartbeats and the oldest overdue timer; 503 when a worker is missing or late."""
    report = health(now=timezone.now())
    return JsonResponse(report.as_dict(), status=200 if report.is_ok else 503)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """JSON for API clients, a plain page for people."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "No such address in this API; see /api/docs.", "code": "not_found", "errors": []}, status=404
        )
    return HttpResponse(render_to_string("escalada/404.html", request=request), status=404)


handler404 = not_found

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="ticket-list", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("health", health_view, name="health"),
    path("api/", api.urls),
    path("support/reopen/<str:token>", support_reopen, name="support-reopen"),
    path("queue/", queue_page, name="queue"),
    path("queue/next", queue_next_ticket, name="queue-next"),
    path("queue/views", queue_view_save, name="queue-view-save"),
    path("queue/views/<int:view_id>/delete", queue_view_delete, name="queue-view-delete"),
    path("team/", team_page, name="team"),
    path("login/link", magic_link_request, name="magic-link"),
    path("login/link/<str:token>", magic_link_sign_in, name="magic-link-sign-in"),
    path("team/reassign", team_reassign, name="team-reassign"),
    path("", include("escalada.insights.urls")),
    path("", include("escalada.accounts.urls")),
    path("", include("escalada.customers.urls")),
    path("", include("escalada.desk.urls")),
    path("", include("escalada.sla.urls")),
    path("", include("escalada.escalations.urls")),
    path("", include("escalada.notifications.urls")),
]
