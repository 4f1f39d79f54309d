from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import AwareDatetime

from escalada.base.schemas import DbId, StrictSchema
from escalada.sla.models import Calendar, HoursSource, Policy

WEEKLY_HELP = 'Opening intervals per weekday, e.g. {"mon": [["09:00", "12:30"], ["13:30", "17:00"]]}; a missing day is closed; "24:00" closes at midnight.'


class CalendarIn(StrictSchema):
    name: str
    time_zone: str = Field(description="IANA zone, e.g. Europe/Berlin")
    weekly: dict[str, list[list[str]]] = Field(description=WEEKLY_HELP)
    holidays: list[str] = Field(default_factory=list, description="Whole local dates, YYYY-MM-DD")
    holiday_country: str = Field(default="", description="Add a country's public holidays (ISO code such as DE)")
    holiday_subdivision: str = Field(default="", description="…and a subdivision's (e.g. BY)")


class CalendarPatchIn(StrictSchema):
    name: str | None = None
    time_zone: str | None = None
    weekly: dict[str, list[list[str]]] | None = Field(default=None, description=WEEKLY_HELP)
    holidays: list[str] | None = None
    holiday_country: str | None = None
    holiday_subdivision: str | None = None


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    weekly: dict[str, list[list[str]]]
    holidays: list[str]
    holiday_country: str
    holiday_subdivision: str
    version: int
    created_at: datetime
    updated_at: datetime


class CalendarUpdateOut(CalendarOut):
    clocks_recomputed: int = Field(description="Running clocks whose due instants this edit moved")


class ConditionIn(StrictSchema):
    field: str
    operator: str
    value: Any


class TargetIn(StrictSchema):
    priority: str
    metric: str
    minutes: int = Field(description="Business minutes (calendar minutes when the policy counts calendar time)")
    warn_percent: int | None = Field(default=None, description="Warn when this share of the target is used")
    warn_minutes_before: int | None = Field(default=None, description="…or this many minutes before it runs out")


class PolicyIn(StrictSchema):
    name: str
    rank: int = Field(description="Lower ranks are checked first")
    is_active: bool = True
    conditions: list[ConditionIn] = Field(default_factory=list, description="All must hold; none = matches every ticket")
    calendar_id: DbId | None = None
    hours_source: HoursSource = HoursSource.POLICY
    is_business_time: bool = True
    pause_statuses: dict[str, list[str]] | None = Field(
        default=None,
        description="Statuses that pause each metric; default pending and on_hold pause next_response and resolution",
    )
    targets: list[TargetIn] = Field(default_factory=list)


class PolicyPatchIn(StrictSchema):
    name: str | None = None
    rank: int | None = None
    is_active: bool | None = None
    conditions: list[ConditionIn] | None = None
    calendar_id: DbId | None = None
    hours_source: HoursSource | None = None
    is_business_time: bool | None = None
    pause_statuses: dict[str, list[str]] | None = None
    targets: list[TargetIn] | None = None


class TargetOut(Schema):
    priority: str
    metric: str
    minutes: int
    warn_percent: int | None
    warn_minutes_before: int | None


class PolicyOut(Schema):
    id: int
    name: str
    rank: int
    is_active: bool
    conditions: list[dict[str, Any]]
    calendar_id: int | None
    hours_source: str
    is_business_time: bool
    pause_statuses: dict[str, list[str]]
    targets: list[TargetOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_targets(obj: Policy) -> list[Any]:
        return sorted(obj.targets.all(), key=lambda t: (t.priority, t.metric))


class PreviewCalendarIn(StrictSchema):
    time_zone: str
    weekly: dict[str, list[list[str]]] = Field(description=WEEKLY_HELP)
    holidays: list[str] = Field(default_factory=list)
    holiday_country: str = ""
    holiday_subdivision: str = ""


class PreviewIn(StrictSchema):
    """Give a saved calendar's id, or an unsaved calendar (to try an edit before saving it), or
    neither for calendar time."""

    calendar_id: DbId | None = None
    calendar: PreviewCalendarIn | None = None
    start: AwareDatetime
    minutes: float = Field(description="The target, in business minutes (calendar minutes without a calendar)")


class PreviewOut(Schema):
    due_at: datetime
    is_open_at_start: bool
    counting_starts_at: datetime = Field(description="The start itself inside hours, else the next opening")
    business_time: bool


class PolicyTestIn(StrictSchema):
    ticket_id: DbId


class PolicyTestOut(Schema):
    policy_id: int | None
    name: str | None
    reason: str = Field(description="Why it matched, or why nothing did")


def calendar_out(calendar: Calendar, **extra: Any) -> dict[str, Any]:
    return {
        "id": calendar.pk,
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "weekly": calendar.weekly,
        "holidays": calendar.holidays,
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
        "version": calendar.version,
        "created_at": calendar.created_at,
        "updated_at": calendar.updated_at,
        **extra,
    }


class HoursIn(StrictSchema):
    calendar_id: DbId | None = Field(description="The calendar holding these hours; null: back to each policy's own")


class HoursOut(Schema):
    calendar_id: int | None
