from django.urls import path

from escalada.notifications import channel_views, template_views, views

urlpatterns = [
    path("settings/outbox/", views.outbox_list, name="outbox-list"),
    path("settings/outbox/<id:message_id>/replay", views.outbox_replay, name="outbox-replay"),
    path("settings/webhooks/", views.webhook_list_page, name="webhook-list"),
    path("settings/webhooks/<id:subscription_id>/delete", views.webhook_delete, name="webhook-delete"),
    path("settings/channels/", channel_views.channels_page, name="channels"),
    path("settings/channels/mailboxes/new", channel_views.mailbox_edit, name="mailbox-add"),
    path("settings/channels/mailboxes/<id:mailbox_id>/", channel_views.mailbox_edit, name="mailbox-edit"),
    path("settings/channels/mailboxes/<id:mailbox_id>/remove", channel_views.mailbox_remove, name="mailbox-remove"),
    path("settings/channels/secrets/new", channel_views.secret_create, name="intake-secret-create"),
    path("settings/channels/secrets/<id:secret_id>/revoke", channel_views.secret_revoke, name="intake-secret-revoke"),
    path("settings/email-templates/", template_views.template_list_page, name="mail-template-list"),
    path("settings/email-templates/<slug:kind>/", template_views.template_edit, name="mail-template-edit"),
    path("settings/email-templates/<slug:kind>/reset", template_views.template_reset, name="mail-template-reset"),
]
