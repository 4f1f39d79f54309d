"""Forms of the SLA settings pages: text inputs in, the services' data shapes out, and the
services' field errors ("weekly.tue", "holidays[3]", "targets[4].minutes") back next to the
input they are about."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from escalada.base.errors import ValidationFailed
from escalada.core.calendar import WEEKDAYS
from escalada.core.matching import HANDLERS, Operator
from escalada.sla.models import Calendar, HoursSource, Metric, Policy
from escalada.sla.services import MAX_TARGET_MINUTES, PAUSABLE, CalendarData, PolicyData, TargetData
from escalada.tickets.models import Priority, Status

DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
_INTERVAL = re.compile(r"^(\d{1,2}:\d{2}(?::\d{2})?)\s*[-–]\s*(\d{1,2}:\d{2}(?::\d{2})?)$")
_INDEX = re.compile(r"^(?P<name>[a-z_]+)\[(?P<index>\d+)\](?:\.(?P<part>[a-z_]+))?$")


def _padded(clock: str) -> str:
    return clock if len(clock.split(":")[0]) == 2 else f"0{clock}"


def parse_intervals(text: str) -> list[list[str]]:
    """'09:00-12:30, 13:30-17:00' as [["09:00", "12:30"], ["13:30", "17:00"]]; empty = closed.
    Only the shape is checked here; the services check the times and overlaps."""
    pairs = []
    for part in text.split(","):
        if not part.strip():
            continue
        found = _INTERVAL.match(part.strip())
        if found is None:
            raise forms.ValidationError(f"{part.strip()!r} is not an interval like 09:00-17:00; separate intervals with commas.")
        pairs.append([_padded(found[1]), _padded(found[2])])
    return pairs


def format_intervals(pairs: list[list[str]], *, dash: str = "-") -> str:
    return ", ".join(f"{start}{dash}{end}" for start, end in pairs)


def _field_for(key: str, form: forms.Form, aliases: Mapping[str, str]) -> str | None:
    """The form field a service error key is about, or None for the top of the form."""
    name = aliases.get(key, key.removeprefix("weekly."))
    indexed = _INDEX.match(name)
    if indexed is not None:
        name = aliases.get(indexed["name"], indexed["name"])
    return name if name in form.fields else None


def show_service_errors(form: forms.Form, exc: ValidationFailed, aliases: Mapping[str, str] | None = None) -> None:
    """Put each of a service's field errors next to its input (or on top when there is none)."""
    for key, message in exc.errors.items():
        indexed = _INDEX.match(key)
        if indexed is not None and indexed["name"] == "conditions":
            message = f"Condition {int(indexed['index']) + 1}: {message}"
        form.add_error(_field_for(key, form, aliases or {}), message)


# --- calendars ---------------------------------------------------------------------------------


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=100)
    time_zone = forms.CharField(max_length=64, help_text="IANA zone, e.g. Europe/Berlin. Opening hours are local to it.")
    mon = forms.CharField(required=False, label="Monday")
    tue = forms.CharField(required=False, label="Tuesday")
    wed = forms.CharField(required=False, label="Wednesday")
    thu = forms.CharField(required=False, label="Thursday")
    fri = forms.CharField(required=False, label="Friday")
    sat = forms.CharField(required=False, label="Saturday")
    sun = forms.CharField(required=False, label="Sunday")
    holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="Whole local days off, one YYYY-MM-DD per line.",
    )
    holiday_country = forms.CharField(
        required=False, max_length=64, label="Public holidays of", help_text="Country code such as DE or US; empty for none."
    )
    holiday_subdivision = forms.CharField(
        required=False, max_length=64, label="Subdivision", help_text="Optional, e.g. BY for Bavaria."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for day in WEEKDAYS:
            if day in data:
                try:
                    data[f"weekly_{day}"] = parse_intervals(data[day])
                except forms.ValidationError as exc:
                    self.add_error(day, exc)
        return data

    def calendar_data(self) -> CalendarData:
        data = self.cleaned_data
        weekly = {day: data[f"weekly_{day}"] for day in WEEKDAYS if data[f"weekly_{day}"]}
        return {
            "name": data["name"],
            "time_zone": data["time_zone"].strip(),
            "weekly": weekly,
            "holidays": [line.strip() for line in data["holidays"].splitlines() if line.strip()],
            "holiday_country": data["holiday_country"].strip(),
            "holiday_subdivision": data["holiday_subdivision"].strip(),
        }

    @staticmethod
    def initial_of(calendar: Calendar) -> dict[str, Any]:
        return {
            "name": calendar.name,
            "time_zone": calendar.time_zone,
            **{day: format_intervals(calendar.weekly.get(day, [])) for day in WEEKDAYS},
            "holidays": "\n".join(calendar.holidays),
            "holiday_country": calendar.holiday_country,
            "holiday_subdivision": calendar.holiday_subdivision,
        }

    def week(self) -> list[forms.BoundField]:
        return [self[day] for day in WEEKDAYS]


class IcsForm(forms.Form):
    file = forms.FileField(label="ICS file", help_text="Its all-day events are added as holidays; timed events are skipped.")


PREVIEW_YEARS = (2000, 2100)  # far enough either way, and clear of datetime's limits


class PreviewForm(forms.Form):
    start = forms.CharField(label="Start", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    minutes = forms.IntegerField(min_value=0, max_value=MAX_TARGET_MINUTES, label="Target (minutes)")

    def start_in(self, zone: ZoneInfo) -> datetime | None:
        """The start as an instant, read as wall time in the calendar's zone. None (with the
        error on the field) for text that is no time, or a wall time the zone skips (the hour
        lost when clocks go forward)."""
        text = self.cleaned_data["start"].strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            self.add_error("start", f"{text!r} is not a date and time like 2026-11-23T16:00.")
            return None
        if not PREVIEW_YEARS[0] <= parsed.year <= PREVIEW_YEARS[1]:
            self.add_error("start", f"Give a start between the years {PREVIEW_YEARS[0]} and {PREVIEW_YEARS[1]}.")
            return None
        if parsed.tzinfo is not None:
            return parsed
        local = parsed.replace(tzinfo=zone)
        if local.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None) != parsed:
            self.add_error("start", f"{parsed:%Y-%m-%d %H:%M} does not exist in {zone.key}: the clocks skip it.")
            return None
        return local

    def duration(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["minutes"])


class TesterForm(forms.Form):
    ticket = forms.CharField(label="Ticket number", max_length=24, widget=forms.TextInput(attrs={"placeholder": "#123"}))

    def clean_ticket(self) -> int:
        text = str(self.cleaned_data["ticket"]).strip().removeprefix("#")
        if not text.isdigit() or not 1 <= int(text) < 2**63:
            raise forms.ValidationError("Give a ticket number such as 123.")
        return int(text)


# --- policies ----------------------------------------------------------------------------------

PRIORITIES = list(Priority)
METRICS = list(Metric)
PAUSE_CHOICES = [(status, Status(status).label) for status in PAUSABLE]
CONDITIONS_HELP = (
    'A JSON list; every condition must hold; empty matches every ticket. E.g. [{"field": "priority", "operator": "in", '
    f'"value": ["urgent", "high"]}}]. Fields: {", ".join(sorted(HANDLERS))}. Operators: {", ".join(op.value for op in Operator)}.'
)
_PERCENT = re.compile(r"^(\d{1,9})\s*%$")
_BEFORE = re.compile(r"^(\d{1,9})\s*min(?:utes?)?(?:\s+before)?$")


def _warning(text: str) -> tuple[int | None, int | None]:
    """'80%' → warn at 80 % of the target; '30 min' → warn 30 minutes before it; '' → no warning."""
    text = text.strip().lower()
    if not text:
        return None, None
    if percent := _PERCENT.match(text):
        return int(percent[1]), None
    if before := _BEFORE.match(text):
        return None, int(before[1])
    raise forms.ValidationError(f"{text!r}: write a share like 80% or a lead like 30 min.")


def _warning_text(percent: int | None, before: int | None) -> str:
    if percent is not None:
        return f"{percent}%"
    return f"{before} min" if before is not None else ""


def conditions_text(conditions: list[dict[str, Any]]) -> str:
    if not conditions:
        return ""
    return "[\n" + ",\n".join(f"  {json.dumps(c, ensure_ascii=False)}" for c in conditions) + "\n]"


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=100)
    rank = forms.IntegerField(min_value=0, max_value=1_000_000, help_text="Lower ranks are checked first; the first match wins.")
    is_active = forms.BooleanField(required=False, label="Active")
    is_business_time = forms.TypedChoiceField(
        label="Count",
        choices=[("business", "Business time (the calendar's opening hours)"), ("calendar", "Calendar time (around the clock)")],
        coerce=lambda value: value == "business",
        widget=forms.RadioSelect,
    )
    calendar = forms.ModelChoiceField(queryset=Calendar.objects.order_by("name"), required=False, empty_label="— none —")
    hours_source = forms.ChoiceField(label="Whose hours", choices=HoursSource.choices)
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code"}),
        help_text=CONDITIONS_HELP,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for metric in METRICS:
            self.fields[f"pause_{metric}"] = forms.MultipleChoiceField(
                required=False, choices=PAUSE_CHOICES, widget=forms.CheckboxSelectMultiple, label=f"{metric.label} pauses while"
            )
        for priority in PRIORITIES:
            for metric in METRICS:
                self.fields[f"minutes_{priority}_{metric}"] = forms.IntegerField(
                    required=False,
                    label=f"{priority.label} {metric.label.lower()} target (minutes)",
                    widget=forms.NumberInput(attrs={"placeholder": "minutes", "class": "minutes"}),
                )
                self.fields[f"warn_{priority}_{metric}"] = forms.CharField(
                    required=False,
                    max_length=40,
                    label=f"{priority.label} {metric.label.lower()} warning",
                    widget=forms.TextInput(attrs={"placeholder": "warn at", "class": "warn"}),
                )
        # Which inputs each entry of the targets list came from, so its errors land there.
        self.target_aliases: dict[str, str] = {}

    def clean_conditions(self) -> list[Any]:
        text = self.cleaned_data["conditions"].strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        except RecursionError:
            raise forms.ValidationError("This JSON is nested too deeply.") from None
        if not isinstance(value, list):
            raise forms.ValidationError("Give a JSON list of conditions, [...], or leave it empty to match every ticket.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for priority in PRIORITIES:
            for metric in METRICS:
                name = f"warn_{priority}_{metric}"
                try:
                    data[f"parsed_{name}"] = _warning(data.get(name) or "")
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
                    continue
                if data[f"parsed_{name}"] != (None, None) and data.get(f"minutes_{priority}_{metric}") is None:
                    self.add_error(name, "A warning needs a target: give the minutes too.")
        return data

    def _targets(self) -> list[TargetData]:
        data = self.cleaned_data
        targets: list[TargetData] = []
        self.target_aliases = {}
        for priority in PRIORITIES:
            for metric in METRICS:
                minutes = data.get(f"minutes_{priority}_{metric}")
                if minutes is None:
                    continue
                percent, before = data[f"parsed_warn_{priority}_{metric}"]
                key = f"targets[{len(targets)}]"
                warn = f"warn_{priority}_{metric}"
                self.target_aliases |= {
                    key: warn,
                    f"{key}.minutes": f"minutes_{priority}_{metric}",
                    f"{key}.warn_percent": warn,
                    f"{key}.warn_minutes_before": warn,
                }
                targets.append(
                    {
                        "priority": priority,
                        "metric": metric,
                        "minutes": minutes,
                        "warn_percent": percent,
                        "warn_minutes_before": before,
                    }
                )
        return targets

    def policy_data(self) -> PolicyData:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "rank": data["rank"],
            "is_active": data["is_active"],
            "conditions": data["conditions"],
            "calendar": data["calendar"],
            "hours_source": data["hours_source"],
            "is_business_time": data["is_business_time"],
            "pause_statuses": {metric.value: list(data[f"pause_{metric}"]) for metric in METRICS},
            "targets": self._targets(),
        }

    def show_errors(self, exc: ValidationFailed) -> None:
        aliases = {**self.target_aliases, **{f"pause_statuses.{metric}": f"pause_{metric}" for metric in METRICS}}
        show_service_errors(self, exc, aliases)

    @staticmethod
    def initial_of(policy: Policy) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": policy.name,
            "rank": policy.rank,
            "is_active": policy.is_active,
            "is_business_time": "business" if policy.is_business_time else "calendar",
            "calendar": policy.calendar_id,
            "hours_source": policy.hours_source,
            "conditions": conditions_text(policy.conditions),
        }
        for metric in METRICS:
            initial[f"pause_{metric}"] = policy.pause_statuses.get(metric, [])
        for target in policy.targets.all():
            initial[f"minutes_{target.priority}_{target.metric}"] = target.minutes
            initial[f"warn_{target.priority}_{target.metric}"] = _warning_text(target.warn_percent, target.warn_minutes_before)
        return initial

    def pause_fields(self) -> list[forms.BoundField]:
        return [self[f"pause_{metric}"] for metric in METRICS]

    def target_rows(self) -> list[tuple[str, list[tuple[forms.BoundField, forms.BoundField]]]]:
        """The grid: a row per priority, a (minutes, warning) pair of inputs per metric."""
        return [
            (priority.label, [(self[f"minutes_{priority}_{metric}"], self[f"warn_{priority}_{metric}"]) for metric in METRICS])
            for priority in PRIORITIES
        ]

    def metric_labels(self) -> list[str]:
        return [metric.label for metric in METRICS]
