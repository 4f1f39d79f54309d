from django.urls import path

from escalada.desk import mail_views, public_views, views

urlpatterns = [
    path("support/new", public_views.support_new, name="support-new"),
    path("settings/inbound-mail/", mail_views.inbound_list, name="inbound-list"),
    path("settings/inbound-mail/<id:inbound_id>/reprocess", mail_views.inbound_reprocess, name="inbound-reprocess"),
    path("tickets/", views.ticket_list, name="ticket-list"),
    path("tickets/new/", views.ticket_new, name="ticket-new"),
    path("tickets/embed/", views.ticket_embed, name="ticket-embed"),
    path("tickets/<id:ticket_id>/", views.ticket_detail, name="ticket-detail"),
    path("tickets/<id:ticket_id>/reply", views.ticket_reply, name="ticket-reply"),
    path("tickets/<id:ticket_id>/status", views.ticket_status, name="ticket-status"),
    path("tickets/<id:ticket_id>/assign", views.ticket_assign, name="ticket-assign"),
    path("tickets/<id:ticket_id>/escalation", views.ticket_escalation, name="ticket-escalation"),
    path("tickets/<id:ticket_id>/properties", views.ticket_properties, name="ticket-properties"),
]
