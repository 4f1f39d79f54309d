"""The escalation pages: the board, the case file of one escalation, and the escalation panel of
the agent's ticket page (escalate up, transfer to a team).

Each POST parses a form, calls the same record write or desk verb as the REST API
(`escalation_api.py`), and redirects back (PRG). Field errors go next to their fields; a 403 or
409 sentence shows on top of the page it came from, and nothing changed.
"""

from __future__ import annotations

from escalada.desk.escalation_views.board import escalation_board
from escalada.desk.escalation_views.case import (
    escalation_approval_decide,
    escalation_approval_request,
    escalation_contributor_add,
    escalation_contributor_remove,
    escalation_de_escalate,
    escalation_detail,
    escalation_playbook,
    escalation_resolve,
    escalation_root_cause,
    escalation_status,
    escalation_step_add,
    escalation_step_done,
)
from escalada.desk.escalation_views.panel import ticket_escalate, ticket_escalation_panel, ticket_transfer

__all__ = [
    "escalation_approval_decide",
    "escalation_approval_request",
    "escalation_board",
    "escalation_contributor_add",
    "escalation_contributor_remove",
    "escalation_de_escalate",
    "escalation_detail",
    "escalation_playbook",
    "escalation_resolve",
    "escalation_root_cause",
    "escalation_status",
    "escalation_step_add",
    "escalation_step_done",
    "ticket_escalate",
    "ticket_escalation_panel",
    "ticket_transfer",
]
