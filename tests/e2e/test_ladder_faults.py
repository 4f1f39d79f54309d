"""Ladder steps under real faults, with `escalada worker` subprocesses on PostgreSQL: four workers
racing over 10,000 due steps, and a worker killed with SIGKILL mid-batch. Every step fires once."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.e2e.conftest import ESCALADA

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="workers racing for real needs PostgreSQL; SQLite serialises writers (the suite's PostgreSQL run checks this)",
    ),
]

SEED = """
from datetime import timedelta
from django.utils import timezone
from escalada.customers.services import contact_find_or_create
from escalada.escalations.models import EscalationRun, EscalationStep
from escalada.escalations.services import ladder_create
from escalada.tickets.models import Ticket
now = timezone.now()
levels = [{{"trigger": "unresolved_for", "offset_minutes": 0, "business_time": False, "actions": [{{"type": "webhook"}}]}}]
ladder = ladder_create(data={{"name": "Storm", "levels": levels}}, actor=None)
who = contact_find_or_create(email="storm@example.com", actor=None)
tickets = Ticket.objects.bulk_create(
    Ticket(subject=f"s{{i}}", description="x", channel="api", requester=who, created_at=now, updated_at=now) for i in range({count})
)
runs = EscalationRun.objects.bulk_create(
    EscalationRun(ticket=t, ladder=ladder, ladder_name="Storm", ladder_version=1, snapshot=levels, started_at=now) for t in tickets
)
EscalationStep.objects.bulk_create(EscalationStep(run=r, level=0, cycle=1, due_at=now - timedelta(seconds=1)) for r in runs)
"""
COUNT = """
from django.db.models import Count
from escalada.audit.models import Event
from escalada.escalations.models import EscalationStep
fired = EscalationStep.objects.filter(state="fired").count()
events = Event.objects.filter(kind="escalation.level_fired").count()
twice = Event.objects.filter(kind="escalation.level_fired").values("subject_id").annotate(n=Count("id")).filter(n__gt=1).count()
print(fired, events, twice)
"""


def shell(env: dict[str, str], code: str) -> str:
    result = subprocess.run([ESCALADA, "manage", "shell", "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def counts(env: dict[str, str]) -> tuple[int, int, int]:
    fired, events, twice = (int(x) for x in shell(env, COUNT).split())
    return fired, events, twice


def workers(env: dict[str, str], n: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen([ESCALADA, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)
    ]


def wait_until(env: dict[str, str], total: int, seconds: float) -> tuple[int, int, int]:
    deadline = time.monotonic() + seconds
    state = counts(env)
    while state[0] < total and time.monotonic() < deadline:
        time.sleep(1)
        state = counts(env)
    return state


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


def test_four_workers_racing_over_ten_thousand_steps_fire_each_once(e2e_env: dict[str, str]) -> None:
    subprocess.run([ESCALADA, "manage", "migrate", "--verbosity", "0"], env=e2e_env, check=True, timeout=300)
    shell(e2e_env, SEED.format(count=10_000))
    racing = workers(e2e_env, 4)
    try:
        state = wait_until(e2e_env, 10_000, 600)
    finally:
        stop(racing)
    assert state == (10_000, 10_000, 0)


def test_a_worker_killed_mid_batch_leaves_every_step_fired_once_after_restart(e2e_env: dict[str, str]) -> None:
    subprocess.run([ESCALADA, "manage", "migrate", "--verbosity", "0"], env=e2e_env, check=True, timeout=300)
    # Enough steps that the worker is still busy when it is killed: it fires ~10k a second.
    shell(e2e_env, SEED.format(count=30_000))
    (first,) = workers(e2e_env, 1)
    deadline = time.monotonic() + 120
    while counts(e2e_env)[0] < 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)  # in the middle of its batch
    first.wait(timeout=30)
    fired_before = counts(e2e_env)[0]
    assert 0 < fired_before < 30_000
    restarted = workers(e2e_env, 1)
    try:
        state = wait_until(e2e_env, 30_000, 300)
    finally:
        stop(restarted)
    assert state == (30_000, 30_000, 0)


def test_a_frozen_worker_cannot_commit_a_stale_claim_and_another_fires_everything(e2e_env: dict[str, str]) -> None:
    env = {**e2e_env, "ESCALADA_IDLE_TRANSACTION_TIMEOUT_SECONDS": "3"}
    subprocess.run([ESCALADA, "manage", "migrate", "--verbosity", "0"], env=env, check=True, timeout=300)
    shell(env, SEED.format(count=30_000))
    (frozen,) = workers(env, 1)
    deadline = time.monotonic() + 120
    while counts(env)[0] < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    frozen.send_signal(signal.SIGSTOP)  # mid-batch, possibly holding a step's lock
    try:
        other = workers(env, 1)
        try:
            state = wait_until(env, 30_000, 300)
        finally:
            stop(other)
        assert state == (30_000, 30_000, 0)
        frozen.send_signal(signal.SIGCONT)  # it wakes with whatever it had claimed
        time.sleep(3)
        assert counts(env) == (30_000, 30_000, 0)  # nothing fired twice
    finally:
        frozen.send_signal(signal.SIGCONT)
        stop([frozen])
