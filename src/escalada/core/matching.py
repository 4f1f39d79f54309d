"""Which SLA policy applies to a ticket, and why.

Policies are ranked; the first whose conditions all hold wins. A condition is data — a field of
the ticket, an operator and a value — checked by a registered handler, never by ``eval``. Each
handler declares the JSON schema of the values it accepts, so an editor can validate a condition
before it is saved, and every match carries its reason in words a support lead can read:
"Enterprise urgent — matched: organization_tier=enterprise, priority=urgent".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class TicketFacts:
    """What conditions may read about a ticket (built by the caller from its rows)."""

    priority: str
    severity: str
    channel: str
    category: str | None = None
    organization_id: int | None = None
    organization_tier: str | None = None
    is_vip: bool = False
    tags: frozenset[str] = frozenset()
    team_id: int | None = None


class Operator(StrEnum):
    IS = "is"  # the field equals the value
    IN = "in"  # the field equals one of the values
    NOT_IN = "not_in"  # the field equals none of the values
    HAS_ANY = "has_any"  # tags: at least one of the values
    HAS_ALL = "has_all"  # tags: every one of the values


@dataclass(frozen=True)
class Condition:
    field: str
    operator: Operator
    value: Any

    def __post_init__(self) -> None:
        # Lists from JSON become tuples, so a condition is immutable and hashable like its policy.
        if isinstance(self.value, list | set | frozenset):
            object.__setattr__(self, "value", tuple(self.value))

    def describe(self) -> str:
        if isinstance(self.value, list | tuple | set | frozenset):
            shown = "|".join(str(v) for v in self.value)
        else:
            shown = str(self.value).lower() if isinstance(self.value, bool) else str(self.value)
        symbol = {Operator.IS: "=", Operator.IN: "=", Operator.NOT_IN: "≠", Operator.HAS_ANY: "∋", Operator.HAS_ALL: "⊇"}
        return f"{self.field}{symbol[self.operator]}{shown}"


@dataclass(frozen=True)
class PolicyRule:
    """A policy as matching sees it: identity, rank (lower first) and conditions (all must hold)."""

    policy_id: int
    name: str
    rank: int
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Match:
    policy_id: int
    name: str
    reason: str

    @property
    def summary(self) -> str:
        return f"{self.name} — {self.reason}"


@dataclass(frozen=True)
class FieldHandler:
    """How one ticket field is read and which operators and values it accepts."""

    read: Callable[[TicketFacts], Any]
    operators: frozenset[Operator]
    value_schema: Mapping[str, Any] = field(default_factory=dict)


def _string_or_strings(enum: Sequence[str] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "string", "minLength": 1}
    if enum:
        item["enum"] = list(enum)
    return {"oneOf": [item, {"type": "array", "items": item, "minItems": 1}]}


def _ids() -> dict[str, Any]:
    item = {"type": "integer", "minimum": 1}
    return {"oneOf": [item, {"type": "array", "items": item, "minItems": 1}]}


SCALAR = frozenset({Operator.IS, Operator.IN, Operator.NOT_IN})
PRIORITIES = ("urgent", "high", "normal", "low")
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
CHANNELS = ("email", "web", "chat", "phone", "social", "api")
TIERS = ("free", "standard", "premium", "enterprise")

HANDLERS: dict[str, FieldHandler] = {
    "priority": FieldHandler(lambda f: f.priority, SCALAR, _string_or_strings(PRIORITIES)),
    "severity": FieldHandler(lambda f: f.severity, SCALAR, _string_or_strings(SEVERITIES)),
    "channel": FieldHandler(lambda f: f.channel, SCALAR, _string_or_strings(CHANNELS)),
    "category": FieldHandler(lambda f: f.category, SCALAR, _string_or_strings()),
    "organization": FieldHandler(lambda f: f.organization_id, SCALAR, _ids()),
    "organization_tier": FieldHandler(lambda f: f.organization_tier, SCALAR, _string_or_strings(TIERS)),
    "vip": FieldHandler(lambda f: f.is_vip, frozenset({Operator.IS}), {"type": "boolean"}),
    "tags": FieldHandler(lambda f: f.tags, frozenset({Operator.HAS_ANY, Operator.HAS_ALL}), _string_or_strings()),
    "team": FieldHandler(lambda f: f.team_id, SCALAR, _ids()),
}


def condition_problem(condition: Condition) -> str | None:
    """Why this condition cannot be used, in one sentence; None when it is valid."""
    handler = HANDLERS.get(condition.field)
    if handler is None:
        return f"Unknown field {condition.field!r}; use one of {', '.join(sorted(HANDLERS))}."
    if condition.operator not in handler.operators:
        allowed = ", ".join(sorted(op.value for op in handler.operators))
        return f"{condition.field} takes the operator(s) {allowed}, not {condition.operator.value}."
    values = _as_list(condition.value)
    if condition.operator == Operator.IS and isinstance(condition.value, list | tuple):
        return f"{condition.field} 'is' takes one value; use 'in' for several."
    if not values:
        return f"{condition.field} needs at least one value."
    schema = handler.value_schema
    if schema.get("type") == "boolean":
        return None if isinstance(condition.value, bool) else f"{condition.field} is true or false."
    item = schema["oneOf"][0]
    for value in values:
        if item["type"] == "integer" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            return f"{condition.field} takes ids (whole numbers from 1), not {value!r}."
        if item["type"] == "string" and (not isinstance(value, str) or not value):
            return f"{condition.field} takes text values, not {value!r}."
        if "enum" in item and value not in item["enum"]:
            return f"{condition.field} is one of {', '.join(item['enum'])}, not {value!r}."
    return None


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def holds(condition: Condition, facts: TicketFacts) -> bool:
    actual = HANDLERS[condition.field].read(facts)
    values = _as_list(condition.value)
    if condition.operator == Operator.IS:
        return bool(actual == condition.value)
    if condition.operator == Operator.IN:
        return actual in values
    if condition.operator == Operator.NOT_IN:
        return actual not in values
    if condition.operator == Operator.HAS_ANY:
        return any(v in actual for v in values)
    return all(v in actual for v in values)  # HAS_ALL


def match_policy(policies: Sequence[PolicyRule], facts: TicketFacts) -> Match | None:
    """The first policy by rank (then id, so ties are stable) whose conditions all hold."""
    for policy in sorted(policies, key=lambda p: (p.rank, p.policy_id)):
        if all(holds(condition, facts) for condition in policy.conditions):
            if policy.conditions:
                reason = "matched: " + ", ".join(condition.describe() for condition in policy.conditions)
            else:
                reason = "matched: no conditions (the default policy)"
            return Match(policy_id=policy.policy_id, name=policy.name, reason=reason)
    return None
