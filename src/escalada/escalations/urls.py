from django.urls import path

from escalada.escalations import lists_views, views

urlpatterns = [
    path("settings/escalation-matrix/", views.matrix_page, name="escalation-matrix"),
    path("settings/escalation-lists/", lists_views.lists_page, name="escalation-lists"),
    path("settings/sign-off/", lists_views.signoff_page, name="escalation-signoff"),
]
