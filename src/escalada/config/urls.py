from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView

from escalada.config.api import api


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="ticket-list", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("api/", api.urls),
    path("", include("escalada.accounts.urls")),
    path("", include("escalada.customers.urls")),
    path("", include("escalada.tickets.urls")),
]
