from django.urls import path

from escalada.notifications import template_views, views

urlpatterns = [
    path("settings/outbox/", views.outbox_list, name="outbox-list"),
    path("settings/outbox/<id:message_id>/replay", views.outbox_replay, name="outbox-replay"),
    path("settings/webhooks/", views.webhook_list_page, name="webhook-list"),
    path("settings/webhooks/<id:subscription_id>/delete", views.webhook_delete, name="webhook-delete"),
    path("settings/email-templates/", template_views.template_list_page, name="mail-template-list"),
    path("settings/email-templates/<slug:kind>/", template_views.template_edit, name="mail-template-edit"),
    path("settings/email-templates/<slug:kind>/reset", template_views.template_reset, name="mail-template-reset"),
]
