"""The ticket status workflow.

new → open/pending/on_hold/solved; open, pending and on_hold move among themselves and to
solved; solved → open is a reopen, solved → closed archives; closed is final (a customer
writing again opens a follow-up ticket instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


_WORKING = {Status.OPEN, Status.PENDING, Status.ON_HOLD}

ALLOWED: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset(_WORKING | {Status.SOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


@dataclass(frozen=True)
class Transition:
    """The verdict on moving a ticket from one status to another."""

    allowed: bool
    is_reopen: bool = False
    reason: str = ""


def transition(current: Status, target: Status) -> Transition:
    if current == target:
        return Transition(allowed=False, reason=f"The ticket is already {current.value}.")
    if target not in ALLOWED[current]:
        if current == Status.CLOSED:
            return Transition(allowed=False, reason="A closed ticket cannot change; open a follow-up ticket instead.")
        choices = ", ".join(sorted(s.value for s in ALLOWED[current]))
        return Transition(allowed=False, reason=f"A {current.value} ticket can move to {choices}, not {target.value}.")
    return Transition(allowed=True, is_reopen=current == Status.SOLVED and target == Status.OPEN)


def status_after_customer_message(current: Status) -> Status:
    """Where a customer's new public message takes the ticket: back to the agents' side."""
    if current in {Status.PENDING, Status.SOLVED}:
        return Status.OPEN
    return current


def status_after_agent_reply(current: Status) -> Status:
    """A public agent reply takes a new ticket into work; other statuses stay as the agent set them."""
    return Status.OPEN if current == Status.NEW else current
