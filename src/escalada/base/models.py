from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """How many times something was done in the current window, per key (e.g. form posts per
    address). Shared by every web process through the database."""

    key = models.CharField(max_length=200, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} since {self.window_start}"


class WorkerHeartbeat(models.Model):
    """A running worker says it is alive: /health and `escalada doctor` read these."""

    name = models.CharField(max_length=200, unique=True)  # host:pid
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at}"
