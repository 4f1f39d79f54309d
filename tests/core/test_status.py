"""The ticket status workflow, without Django."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from escalada.core.status import (
    ALLOWED,
    Status,
    status_after_agent_reply,
    status_after_customer_message,
    transition,
)

statuses = st.sampled_from(list(Status))


def test_the_whole_transition_table() -> None:
    allowed = {(a.value, b.value) for a in Status for b in Status if transition(a, b).allowed}
    assert allowed == {
        ("new", "open"), ("new", "pending"), ("new", "on_hold"), ("new", "solved"),
        ("open", "pending"), ("open", "on_hold"), ("open", "solved"),
        ("pending", "open"), ("pending", "on_hold"), ("pending", "solved"),
        ("on_hold", "open"), ("on_hold", "pending"), ("on_hold", "solved"),
        ("solved", "open"), ("solved", "closed"),
    }  # fmt: skip


def test_only_solved_to_open_is_a_reopen() -> None:
    reopens = [(a, b) for a in Status for b in Status if transition(a, b).is_reopen]
    assert reopens == [(Status.SOLVED, Status.OPEN)]


def test_refusals_say_why() -> None:
    assert transition(Status.OPEN, Status.OPEN).reason == "The ticket is already open."
    assert transition(Status.CLOSED, Status.OPEN).reason == "A closed ticket cannot change; open a follow-up ticket instead."
    assert transition(Status.NEW, Status.CLOSED).reason == "A new ticket can move to on_hold, open, pending, solved, not closed."


@given(statuses, statuses)
def test_a_verdict_is_allowed_exactly_when_the_table_says_so(current: Status, target: Status) -> None:
    verdict = transition(current, target)
    assert verdict.allowed == (target in ALLOWED[current])
    assert (verdict.reason == "") == verdict.allowed


@given(statuses)
def test_closed_is_final_and_reachable_only_from_solved(status: Status) -> None:
    assert not transition(Status.CLOSED, status).allowed
    assert transition(status, Status.CLOSED).allowed == (status == Status.SOLVED)


@given(statuses)
def test_message_driven_moves_are_always_allowed_moves(status: Status) -> None:
    for after in (status_after_customer_message(status), status_after_agent_reply(status)):
        assert after == status or transition(status, after).allowed


def test_customer_and_agent_message_moves() -> None:
    assert [status_after_customer_message(s) for s in Status] == [
        Status.NEW, Status.OPEN, Status.OPEN, Status.ON_HOLD, Status.OPEN, Status.CLOSED,
    ]  # fmt: skip
    assert [status_after_agent_reply(s) for s in Status] == [
        Status.OPEN, Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED,
    ]  # fmt: skip
