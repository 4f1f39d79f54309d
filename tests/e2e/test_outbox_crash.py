"""A delivery worker killed with SIGKILL in the middle of sending: after a restart the message is
delivered, with the same webhook-id, and nothing is lost."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import ESCALADA

pytestmark = pytest.mark.e2e

SEED = """
from escalada.customers.services import contact_find_or_create
from escalada.desk.verbs import ticket_open
from escalada.notifications.services import webhook_subscription_create
webhook_subscription_create(name="CRM", url="{url}", event_types=["ticket.created"], actor=None)
ana = contact_find_or_create(email="ana@northwind.example", name="Ana", actor=None)
ticket_open(subject="Balance wrong", description="x", requester=ana, channel="web", actor=None)
"""
STATE = """
from escalada.notifications.models import OutboxMessage
m = OutboxMessage.objects.get(channel="webhook")
print(m.state, m.attempts)
"""


class Sink:
    """Holds the first request open (the worker dies while waiting for the answer)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.first_arrived = threading.Event()
        self.release_first = threading.Event()
        self.second_arrived = threading.Event()


def serve(sink: Sink) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            self.rfile.read(int(self.headers.get("content-length", 0)))
            sink.ids.append(self.headers["webhook-id"])
            if len(sink.ids) == 1:
                sink.first_arrived.set()
                sink.release_first.wait(30)
            else:
                sink.second_arrived.set()
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass  # the worker that asked is dead

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        sink.release_first.set()
        server.shutdown()
        server.server_close()


def manage_shell(env: dict[str, str], code: str) -> str:
    result = subprocess.run([ESCALADA, "manage", "shell", "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""  # after Django 5.2's auto-import notice


def test_a_killed_worker_loses_nothing_and_the_retry_keeps_the_webhook_id(e2e_env: dict[str, str]) -> None:
    env = {**e2e_env, "ESCALADA_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "ESCALADA_OUTBOX_LEASE_SECONDS": "2"}
    subprocess.run([ESCALADA, "manage", "migrate", "--verbosity", "0"], env=env, check=True, timeout=120)
    sink = Sink()
    for url in serve(sink):
        manage_shell(env, SEED.format(url=url))
        worker = subprocess.Popen([ESCALADA, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert sink.first_arrived.wait(60), "the worker never called the webhook"
            worker.send_signal(signal.SIGKILL)  # mid-delivery: the answer never reaches it
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
        sink.release_first.set()
        assert manage_shell(env, STATE) == "sending 1"  # claimed, never recorded
        time.sleep(2)  # the dead worker's lease runs out
        restarted = subprocess.Popen([ESCALADA, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert sink.second_arrived.wait(60), "the message was not delivered after the restart"
            deadline = time.monotonic() + 30
            while manage_shell(env, STATE) != "sent 2" and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(timeout=30)
        assert manage_shell(env, STATE) == "sent 2"
        assert len(sink.ids) == 2
        assert sink.ids[0] == sink.ids[1]
