from django.urls import path

from escalada.notifications import views

urlpatterns = [
    path("settings/outbox/", views.outbox_list, name="outbox-list"),
    path("settings/outbox/<id:message_id>/replay", views.outbox_replay, name="outbox-replay"),
    path("settings/webhooks/", views.webhook_list_page, name="webhook-list"),
    path("settings/webhooks/<id:subscription_id>/delete", views.webhook_delete, name="webhook-delete"),
]
