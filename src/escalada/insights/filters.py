"""The report filter: a date range (the tickets' creation days, in the report time zone) and
optional team, category, channel, organization tier, priority and severity — parsed from a
query string with a sentence per wrong field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q

from escalada.accounts.models import Team
from escalada.base.errors import ValidationFailed
from escalada.customers.models import Tier
from escalada.insights.facts import report_zone
from escalada.tickets.models import Category, Channel, Priority, Severity

DEFAULT_DAYS = 30
LONGEST = timedelta(days=366 * 3)


@dataclass(frozen=True)
class ReportFilter:
    start: date
    end: date  # inclusive
    team_id: int | None = None
    category_id: int | None = None
    channel: str = ""
    org_tier: str = ""
    priority: str = ""
    severity: str = ""

    def periods(self) -> Q:
        """The rollup rows of the range: whole months at month grain, the rest day by day."""
        first_whole = self.start if self.start.day == 1 else _next_month(self.start)
        after_whole = _month_start(self.end + timedelta(days=1))  # the month after the last whole one
        if first_whole >= after_whole:
            return Q(grain="d", day__gte=self.start, day__lte=self.end)
        found = Q(grain="m", day__gte=first_whole, day__lt=after_whole)
        if self.start < first_whole:
            found |= Q(grain="d", day__gte=self.start, day__lt=first_whole)
        if after_whole <= self.end:
            found |= Q(grain="d", day__gte=after_whole, day__lte=self.end)
        return found

    def rollup_filter(self) -> Q:
        """The filter on the rollups: the range's periods and the chosen dimensions."""
        dims = self.lookups()
        del dims["day__gte"], dims["day__lte"]
        return self.periods() & Q(**dims)

    def lookups(self) -> dict[str, Any]:
        """Field lookups for the fact table (one row per ticket, by creation day)."""
        found: dict[str, Any] = {"day__gte": self.start, "day__lte": self.end}
        if self.team_id is not None:
            found["team_id"] = self.team_id
        if self.category_id is not None:
            found["category_id"] = self.category_id
        for name in ("channel", "org_tier", "priority", "severity"):
            if getattr(self, name):
                found[name] = getattr(self, name)
        return found

    def ticket_lookups(self) -> dict[str, Any]:
        """The same filter on raw tickets (for the lists behind a bar)."""
        zone = report_zone()
        found: dict[str, Any] = {
            "created_at__gte": datetime.combine(self.start, time(0), tzinfo=zone),
            "created_at__lt": datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=zone),
        }
        if self.team_id is not None:
            found["team_id"] = self.team_id
        if self.category_id is not None:
            found["category_id"] = self.category_id
        for name in ("channel", "priority", "severity"):
            if getattr(self, name):
                found[name] = getattr(self, name)
        if self.org_tier:
            found["organization__tier"] = self.org_tier
        return found

    def as_query(self) -> dict[str, str]:
        query = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.team_id is not None:
            query["team"] = str(self.team_id)
        if self.category_id is not None:
            query["category"] = str(self.category_id)
        for name, key in (("channel", "channel"), ("org_tier", "tier"), ("priority", "priority"), ("severity", "severity")):
            if getattr(self, name):
                query[key] = getattr(self, name)
        return query


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def filter_parse(data: Mapping[str, str], *, today: date) -> ReportFilter:
    """`from`, `to` (YYYY-MM-DD, default the last 30 days up to today), `team`, `category` (ids),
    `channel`, `tier`, `priority`, `severity`; blank means all."""
    errors: dict[str, str] = {}
    start = _day(data.get("from", ""), "from", errors) or today - timedelta(days=DEFAULT_DAYS - 1)
    end = _day(data.get("to", ""), "to", errors) or today
    if "from" not in errors and "to" not in errors:
        if start > end:
            errors["from"] = "The range starts after it ends; choose a start on or before the end."
        elif end - start > LONGEST:
            errors["from"] = "A report covers at most three years; narrow the range."
    team_id = _id(data.get("team", ""), "team", errors, Team.objects.values_list("pk", flat=True), "No such team.")
    category_id = _id(
        data.get("category", ""), "category", errors, Category.objects.values_list("pk", flat=True), "No such category."
    )
    found = ReportFilter(start=start, end=end, team_id=team_id, category_id=category_id)
    for key, name, choices in (
        ("channel", "channel", Channel),
        ("tier", "org_tier", Tier),
        ("priority", "priority", Priority),
        ("severity", "severity", Severity),
    ):
        value = (data.get(key) or "").strip()
        if value and value not in choices.values:
            errors[key] = f"Choose one of: {', '.join(choices.values)}."
        elif value:
            found = replace(found, **{name: value})  # type: ignore[arg-type]
    if errors:
        raise ValidationFailed(errors)
    return found


EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


def _day(raw: str, field: str, errors: dict[str, str]) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        found = date.fromisoformat(raw)
    except ValueError:
        errors[field] = "Write a date as YYYY-MM-DD, e.g. 2026-11-01."
        return None
    if not EARLIEST <= found <= LATEST:
        errors[field] = f"Choose a date between {EARLIEST} and {LATEST}."
        return None
    return found


def _id(raw: str, field: str, errors: dict[str, str], known: Any, missing: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or not known.filter(pk=int(raw)).exists():
        errors[field] = missing
        return None
    return int(raw)
