"""A fixed-window rate limit kept in the database, so all web processes share it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from escalada.base.models import RateCounter


def rate_limit_allows(*, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one more use of `key`; False (and nothing counted) when `limit` is reached."""
    with transaction.atomic():
        counter = RateCounter.objects.select_for_update().filter(key=key).first()
        if counter is None:
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=key, window_start=now, count=1)
                return limit >= 1
            except IntegrityError:  # created a moment ago by a concurrent request
                counter = RateCounter.objects.select_for_update().get(key=key)
        if now - counter.window_start >= window:
            counter.window_start, counter.count = now, 0
        if counter.count >= limit:
            return False
        counter.count += 1
        counter.save(update_fields=["window_start", "count"])
        return True
