from django.urls import path

from escalada.escalations import ladder_views, lists_views, views

urlpatterns = [
    path("settings/escalation-matrix/", views.matrix_page, name="escalation-matrix"),
    path("settings/escalation-lists/", lists_views.lists_page, name="escalation-lists"),
    path("settings/sign-off/", lists_views.signoff_page, name="escalation-signoff"),
    path("settings/ladders/", ladder_views.ladder_list_page, name="ladder-list"),
    path("settings/ladders/new/", ladder_views.ladder_edit, name="ladder-new"),
    path("settings/ladders/<id:ladder_id>/", ladder_views.ladder_edit, name="ladder-edit"),
    path("settings/ladders/<id:ladder_id>/active", ladder_views.ladder_set_active, name="ladder-set-active"),
]
