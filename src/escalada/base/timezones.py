from __future__ import annotations

import zoneinfo
from functools import cache


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_timezone(name: str) -> bool:
    return name in known_timezones()
