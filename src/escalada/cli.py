"""The `escalada` command.

    escalada run        migrate, first-start admin + demo data, then web + worker (Ctrl-C stops both)
    escalada serve      the production web server (gunicorn)
    escalada worker     the background worker
    escalada demo       load demo data
    escalada reports rebuild   recompute the report rollups from the tickets
    escalada createadmin --username U --email E --password P
    escalada token create USERNAME
    escalada manage …   any Django management command (migrate, shell, …)

Bad input exits with status 2 and one sentence on stderr.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

SETTINGS = "escalada.config.settings"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
ADMIN_PASSWORD_FILE = "initial-admin-password"  # noqa: S105 - a file name


class UsageError(Exception):
    """Bad input from the command line: exit 2 with this sentence."""


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def _service_error_sentence(exc: Exception) -> str:
    from escalada.base.errors import ServiceError, ValidationFailed

    if isinstance(exc, ValidationFailed):
        return " ".join(f"{field}: {message}" for field, message in exc.errors.items())
    if isinstance(exc, ServiceError):
        return exc.message
    return str(exc)


def _web_workers() -> int:
    raw = os.environ.get("ESCALADA_WEB_WORKERS", "")
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise UsageError(f"ESCALADA_WEB_WORKERS must be a whole number of at least 1, not {raw!r}.")
        return int(raw)
    return max(2, (os.cpu_count() or 1) * 2)


def gunicorn_command(host: str, port: int, workers: int | None = None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "escalada.config.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers or _web_workers()),
        "--worker-class",
        "sync",
        "--graceful-timeout",
        "10",
        "--access-logfile",
        os.environ.get("ESCALADA_ACCESS_LOG", "-"),
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
    ]


def _port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number between 1 and 65535")
    return int(value)


# --- commands ----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings

    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["ESCALADA_DATA_DIR"] = str(settings.DATA_DIR)
    os.execv(sys.executable, gunicorn_command(args.host, args.port))  # noqa: S606 - replaces this process with gunicorn


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    from django.utils import timezone

    from escalada.worker import Worker

    worker = Worker()
    if args.once:
        done = worker.run_once(now=timezone.now())
        print(", ".join(f"{name}: {count}" for name, count in done.items()))
        return 0
    worker.run_forever()
    return 0


def cmd_mail_smtp(args: argparse.Namespace) -> int:
    _setup()
    import signal
    import threading

    from escalada.mail_listener import serve_smtp

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    print(f"Receiving e-mail by SMTP on {args.host}:{args.port}. Ctrl-C stops.", flush=True)
    try:
        serve_smtp(host=args.host, port=args.port, stop=stop)
    except OSError as exc:
        raise UsageError(f"Cannot listen on {args.host}:{args.port}: {exc.strerror or exc}.") from None
    return 0


def cmd_mail_imap(args: argparse.Namespace) -> int:
    _setup()
    import signal
    import threading

    from django.conf import settings

    from escalada.mail_poller import ImapAccount, poll_forever, poll_once

    accounts = ImapAccount.all_active()
    if not accounts:
        raise UsageError(
            "No mailbox to poll: add one in Settings → Channels, or set ESCALADA_IMAP_HOST, ESCALADA_IMAP_USER "
            "and ESCALADA_IMAP_PASSWORD."
        )
    if args.once:
        stored = 0
        for account in accounts:
            try:
                stored += poll_once(account)
            except OSError as exc:
                raise UsageError(f"Cannot reach {account.host}:{account.port}: {exc.strerror or exc}.") from None
        print(f"stored: {stored}")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    poll_forever(every=settings.ESCALADA_IMAP_EVERY_SECONDS, stop=stop)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Workers alive? Timers overdue? Exit 0 when healthy, 1 when not."""
    _setup()
    from django.utils import timezone

    from escalada.insights.health import health

    report = health(now=timezone.now())
    for worker in report.workers:
        print(f"worker {worker['name']}: last seen {worker['seconds_ago']} s ago")
    if not report.workers:
        print("no worker has reported")
    overdue = report.oldest_overdue
    print(
        f"oldest overdue: {overdue['kind']} due {overdue['due_at']} ({overdue['seconds_overdue']} s)"
        if overdue
        else "nothing overdue"
    )
    for problem in report.problems:
        print(f"problem: {problem}")
    print("healthy" if report.is_ok else "NOT healthy")
    return 0 if report.is_ok else 1


def cmd_createadmin(args: argparse.Namespace) -> int:
    _setup()
    from escalada.accounts.services import admin_create

    username = args.username or _ask("User name: ")
    email = args.email or _ask("E-mail: ")
    password = args.password
    if not password:
        if not sys.stdin.isatty():
            raise UsageError("Give --password, or run this in a terminal to be asked for it.")
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise UsageError("The two passwords differ.")
    _migrate()
    try:
        user = admin_create(username=username, email=email, password=password)
    except Exception as exc:
        raise UsageError(_service_error_sentence(exc)) from exc
    print(f"Admin {user.username} created.")
    return 0


def _ask(prompt: str) -> str:
    if not sys.stdin.isatty():
        raise UsageError(f"Missing {prompt.rstrip(': ').lower()}; give it as a flag (see --help).")
    return input(prompt).strip()


def cmd_token_create(args: argparse.Namespace) -> int:
    _setup()
    from django.contrib.auth.models import User

    from escalada.accounts.services import api_token_create

    user = User.objects.filter(username=args.username).first()
    if user is None:
        raise UsageError(f"There is no user named {args.username!r}.")
    try:
        issued = api_token_create(user=user, name=args.name, actor=None)
    except Exception as exc:
        raise UsageError(_service_error_sentence(exc)) from exc
    print(issued.plaintext)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _setup()
    _migrate()
    from escalada.demo import demo_is_loaded, demo_load

    if demo_is_loaded():
        raise UsageError("Demo data is loaded already (organization Northwind exists).")
    password = args.password or secrets.token_urlsafe(12)
    summary = demo_load(password=password, tickets_count=args.tickets, seed=args.seed)
    print(
        f"Demo loaded: {summary.organizations} organizations, {summary.contacts} contacts, "
        f"{summary.agents} agents, {summary.tickets} tickets. Demo users (sam, lee, pat, morgan, ana, …) "
        f"sign in with the password {password}"
    )
    return 0


def cmd_reports_rebuild(args: argparse.Namespace) -> int:
    _setup()
    _migrate()
    from escalada.insights.services import rollup_rebuild

    started = time.monotonic()
    done = rollup_rebuild()
    print(f"Report rollups rebuilt from {done:,} tickets in {time.monotonic() - started:.1f} s.")
    return 0


def _first_start(data_dir: Path, *, with_demo: bool) -> str:
    """Create the admin (and demo data) on first start; return the line that says how to sign in."""
    from django.contrib.auth.models import User

    from escalada.accounts.services import admin_create
    from escalada.demo import demo_is_loaded, demo_load

    password_file = data_dir / ADMIN_PASSWORD_FILE
    if not User.objects.filter(is_superuser=True).exists():
        password = secrets.token_urlsafe(12)
        admin_create(username="admin", email="admin@escalada.localhost", password=password)
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        if with_demo and not demo_is_loaded():
            print("First start: loading demo data (a few seconds)…", flush=True)
            demo_load(password=password)
    if password_file.exists():
        password = password_file.read_text().strip()
        admin = User.objects.filter(username="admin").first()
        if admin is not None and admin.check_password(password):
            return f"Sign in as admin / {password} (demo agents sam, lee, pat, morgan and customer ana share it)."
    return "Sign in with your admin account (escalada createadmin makes one)."


def cmd_run(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings
    from django.core.management import call_command

    print("Preparing the database…", flush=True)
    _migrate()
    call_command("collectstatic", interactive=False, verbosity=0)
    login = _first_start(Path(settings.DATA_DIR), with_demo=not args.no_demo)

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "ESCALADA_DATA_DIR": str(settings.DATA_DIR)}
    children = [
        subprocess.Popen(gunicorn_command(args.host, args.port), env=env),  # noqa: S603
        subprocess.Popen([sys.executable, "-m", "escalada.cli", "worker"], env=env),  # noqa: S603
    ]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"\nEscalada is running at http://{host}:{args.port}/  (API docs: http://{host}:{args.port}/api/docs)", flush=True)
    print(login, flush=True)
    print(f"Data directory: {settings.DATA_DIR}. Press Ctrl-C to stop.\n", flush=True)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                print(f"escalada: a process stopped unexpectedly (exit {child.returncode}); stopping.", file=sys.stderr)
                stopping, code = True, 1
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    print("Escalada stopped.", flush=True)
    return code


def cmd_manage(args: argparse.Namespace) -> int:
    _setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["escalada manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="escalada", description="Escalation management for customer-support teams.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="prepare the database, then run the web server and the worker")
    run.add_argument("--host", default=DEFAULT_HOST)
    run.add_argument("--port", type=_port, default=DEFAULT_PORT)
    run.add_argument("--no-demo", action="store_true", help="do not load demo data on first start")
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="run the production web server (gunicorn)")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run the background worker")
    worker.add_argument("--once", action="store_true", help="run due jobs once and exit")
    worker.set_defaults(func=cmd_worker)

    mail = sub.add_parser("mail", help="receive customer e-mail")
    mail_sub = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    smtp = mail_sub.add_parser("smtp", help="an SMTP server that turns received mail into tickets and replies")
    smtp.add_argument("--host", default=DEFAULT_HOST)
    smtp.add_argument("--port", type=_port, default=2525)
    smtp.set_defaults(func=cmd_mail_smtp)
    imap = mail_sub.add_parser(
        "imap", help="poll a mailbox (settings ESCALADA_IMAP_*) and turn its mail into tickets and replies"
    )
    imap.add_argument("--once", action="store_true", help="poll once and exit")
    imap.set_defaults(func=cmd_mail_imap)

    doctor = sub.add_parser("doctor", help="are the workers alive, is anything overdue (exit 1 when not healthy)")
    doctor.set_defaults(func=cmd_doctor)

    demo = sub.add_parser("demo", help="load demo data (organizations, contacts, teams, agents, tickets)")
    demo.add_argument("--tickets", type=int, default=300)
    demo.add_argument("--seed", type=int, default=20261123)
    demo.add_argument("--password", help="password for the demo users (default: generated and printed)")
    demo.set_defaults(func=cmd_demo)

    reports = sub.add_parser("reports", help="the report rollups")
    reports_sub = reports.add_subparsers(dest="reports_command", required=True, metavar="ACTION")
    rebuild = reports_sub.add_parser("rebuild", help="recompute the report rollups from the tickets (safe while running)")
    rebuild.set_defaults(func=cmd_reports_rebuild)

    admin = sub.add_parser("createadmin", help="create an admin user")
    admin.add_argument("--username")
    admin.add_argument("--email")
    admin.add_argument("--password")
    admin.set_defaults(func=cmd_createadmin)

    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser("create", help="create an API token for a user and print it once")
    create.add_argument("username")
    create.add_argument("--name", default="command line")
    create.set_defaults(func=cmd_token_create)

    manage = sub.add_parser("manage", help="run a Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from escalada.config.env import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except (UsageError, ConfigError) as exc:
        print(f"escalada: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
