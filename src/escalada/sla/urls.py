from django.urls import path

from escalada.sla import views

urlpatterns = [
    path("settings/sla/", views.sla_settings, name="sla-settings"),
    path("settings/sla/calendars/new/", views.calendar_edit, name="sla-calendar-new"),
    path("settings/sla/calendars/<id:calendar_id>/", views.calendar_edit, name="sla-calendar-edit"),
    path("settings/sla/calendars/<id:calendar_id>/preview", views.calendar_preview, name="sla-calendar-preview"),
    path("settings/sla/policies/new/", views.policy_edit, name="sla-policy-new"),
    path("settings/sla/policies/<id:policy_id>/", views.policy_edit, name="sla-policy-edit"),
    path("settings/sla/tester", views.policy_tester, name="sla-policy-tester"),
]
