"""Outbox benchmark: webhook deliveries per second to a loopback receiver.

Seeds N queued webhook messages (signed per Standard Webhooks, as in production) into a
throwaway SQLite file and/or PostgreSQL database, then runs the delivery job the worker runs
(`outbox_deliver_due`) in one process until every message is sent, against an HTTP receiver on
127.0.0.1 that answers 200 at once. Prints deliveries per second per database (claim, sign,
POST, record — each message its own short transactions), then JSON; the last line holds all.

    .venv/bin/python bench/outbox.py                      # 2000 messages, sqlite then postgres
    .venv/bin/python bench/outbox.py --messages 500 --db sqlite
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module (which email and
# psycopg import): this script's folder is searched last, after the standard library.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE] + [str(_HERE)]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from typing import Any  # noqa: E402

from throwaway import run_child  # noqa: E402


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do
    received = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        Receiver.received += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return


def measure(messages: int) -> dict[str, object]:
    """Runs inside a child process whose environment names the database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escalada.config.settings")
    django.setup()
    from datetime import UTC, datetime, timedelta

    from django.core.management import call_command
    from django.db import connection, transaction

    from escalada.notifications import delivery, services
    from escalada.notifications.models import OutboxMessage, OutboxState

    call_command("migrate", verbosity=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    subscription = services.webhook_subscription_create(name="bench", url=url, event_types=["*"], actor=None, now=at)
    with transaction.atomic():
        for i in range(messages):
            services.webhooks_dispatch(
                kind="ticket.created", data={"ticket_id": i, "number": i, "subject": f"t{i}"}, ticket=None, now=at
            )
    assert OutboxMessage.objects.filter(subscription=subscription).count() == messages
    began = time.perf_counter()
    now = at + timedelta(seconds=1)
    while delivery.outbox_deliver_due(now=now, limit=200):
        pass
    elapsed = time.perf_counter() - began
    sent = OutboxMessage.objects.filter(state=OutboxState.SENT).count()
    server.shutdown()
    return {
        "db": connection.vendor,
        "messages": messages,
        "sent": sent,
        "received": Receiver.received,
        "seconds": round(elapsed, 3),
        "deliveries_per_s": round(sent / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    if args.child:
        print(json.dumps(measure(args.messages)))
        return
    results = {}
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        result = run_child(
            script=__file__,
            db=db,
            args=["--messages", str(args.messages)],
            env_extra={"ESCALADA_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"},
        )
        results[db] = result
        print(
            f"{db:8s} {result['sent']:>6,} webhooks delivered to a loopback receiver in {result['seconds']:.2f} s: {result['deliveries_per_s']:,} per second"
        )
        print(json.dumps(result))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
