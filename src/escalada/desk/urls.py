from django.urls import path

from escalada.desk import escalation_views, mail_views, portal_views, public_views, views

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
    path("tickets/<id:ticket_id>/escalation-request", portal_views.ticket_escalation_request, name="ticket-escalation-request"),
    path("tickets/<id:ticket_id>/rate", portal_views.ticket_rate, name="ticket-rate"),
    path("tickets/<id:ticket_id>/macro", views.ticket_macro, name="ticket-macro"),
    path("tickets/<id:ticket_id>/escalate", escalation_views.ticket_escalation_panel, name="ticket-escalation-panel"),
    path("tickets/<id:ticket_id>/escalate/up", escalation_views.ticket_escalate, name="ticket-escalate"),
    path("tickets/<id:ticket_id>/escalate/transfer", escalation_views.ticket_transfer, name="ticket-transfer"),
    path("escalations/", escalation_views.escalation_board, name="escalation-board"),
    path("escalations/<id:escalation_id>/", escalation_views.escalation_detail, name="escalation-detail"),
    path("escalations/<id:escalation_id>/status", escalation_views.escalation_status, name="escalation-status"),
    path("escalations/<id:escalation_id>/de-escalate", escalation_views.escalation_de_escalate, name="escalation-de-escalate"),
    path("escalations/<id:escalation_id>/resolve", escalation_views.escalation_resolve, name="escalation-resolve"),
    path("escalations/<id:escalation_id>/steps", escalation_views.escalation_step_add, name="escalation-step-add"),
    path(
        "escalations/<id:escalation_id>/steps/<id:step_id>/done",
        escalation_views.escalation_step_done,
        name="escalation-step-done",
    ),
    path("escalations/<id:escalation_id>/playbook", escalation_views.escalation_playbook, name="escalation-playbook"),
    path(
        "escalations/<id:escalation_id>/contributors",
        escalation_views.escalation_contributor_add,
        name="escalation-contributor-add",
    ),
    path(
        "escalations/<id:escalation_id>/contributors/<id:user_id>/remove",
        escalation_views.escalation_contributor_remove,
        name="escalation-contributor-remove",
    ),
    path(
        "escalations/<id:escalation_id>/approvals",
        escalation_views.escalation_approval_request,
        name="escalation-approval-request",
    ),
    path(
        "escalations/<id:escalation_id>/approvals/decide",
        escalation_views.escalation_approval_decide,
        name="escalation-approval-decide",
    ),
    path("escalations/<id:escalation_id>/root-cause", escalation_views.escalation_root_cause, name="escalation-root-cause"),
]
