from django.urls import path

from escalada.notifications import views

urlpatterns = [
    path("settings/outbox/", views.outbox_list, name="outbox-list"),
    path("settings/outbox/<id:message_id>/replay", views.outbox_replay, name="outbox-replay"),
]
