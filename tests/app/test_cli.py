from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from escalada.accounts.models import AgentProfile
from escalada.accounts.selectors import user_from_api_token
from escalada.audit.models import Event
from escalada.cli import main
from escalada.customers.models import Contact, Organization
from escalada.demo import demo_load
from escalada.escalations.models import EscalationRun
from escalada.sla.models import Clock, TicketPolicy
from escalada.tickets.models import Channel, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

STATUSES_WITH_SEED = {"new": 21, "open": 9, "pending": 4, "solved": 4, "closed": 2}  # one escalation resolved


def test_createadmin_then_token_create(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["createadmin", "--username", "root", "--email", "root@example.com", "--password", "a-long-passphrase-9"]) == 0
    assert capsys.readouterr().out == "Admin root created.\n"
    assert User.objects.get(username="root").is_superuser
    assert main(["token", "create", "root", "--name", "ci"]) == 0
    token = capsys.readouterr().out.strip()
    assert user_from_api_token(token=token) == User.objects.get(username="root")


def test_bad_input_exits_2_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["createadmin", "--username", "x", "--email", "not-an-email", "--password", "short"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("escalada: email: Enter a valid e-mail address. password: This password is too short.")
    assert User.objects.count() == 0
    assert main(["token", "create", "nobody"]) == 2
    assert capsys.readouterr().err == "escalada: There is no user named 'nobody'.\n"


def test_createadmin_without_a_terminal_asks_for_flags(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["createadmin", "--username", "x", "--email", "x@example.com"]) == 2
    assert capsys.readouterr().err == "escalada: Give --password, or run this in a terminal to be asked for it.\n"


def test_unknown_command_and_bad_port_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--port", "99999"])
    assert caught.value.code == 2
    assert "'99999' is not a port number between 1 and 65535" in capsys.readouterr().err


def test_demo_data_is_deterministic_and_audited() -> None:
    summary = demo_load(password="demo-password-1", tickets_count=40)
    assert (summary.organizations, summary.agents, summary.tickets) == (16, 8, 40)
    assert Organization.objects.get(name="Northwind").tier == "enterprise"
    ana = Contact.objects.get(email="ana@northwind.example")
    assert ana.user is not None
    assert ana.user.check_password("demo-password-1")
    assert AgentProfile.objects.filter(is_escalation_manager=True).count() == 1
    first = Ticket.objects.order_by("pk").first()
    assert first is not None
    assert (first.subject, first.requester_id, first.channel) == (
        "My account balance is wrong since the last invoice",
        ana.pk,
        "email",
    )
    assert set(Ticket.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert Event.objects.filter(kind="ticket.created").count() == 40
    statuses = {s: Ticket.objects.filter(status=s).count() for s in ("new", "open", "pending", "solved", "closed")}
    assert statuses == STATUSES_WITH_SEED  # the fixed seed gives the same world every time
    # DESIGN.md's step 2: Ana's ticket is on "Enterprise — high", and the page can say why.
    binding = TicketPolicy.objects.get(ticket=first)
    assert (binding.policy_name, binding.reason) == (
        "Enterprise — high",
        "matched: organization_tier=enterprise, priority=urgent|high",
    )
    assert Clock.objects.get(ticket=first, metric="resolution").target_us == 8 * 3600 * 10**6
    # …and on its escalation ladder, levels frozen for it (DESIGN.md's step 5).
    run = EscalationRun.objects.get(ticket=first)
    assert (run.ladder_name, len(run.snapshot)) == ("Enterprise escalation", 2)


def test_mail_imap_without_a_mailbox_says_what_to_set(capsys: pytest.CaptureFixture[str], settings: Any) -> None:
    settings.ESCALADA_IMAP_HOST = ""
    assert main(["mail", "imap", "--once"]) == 2
    assert (
        capsys.readouterr().err
        == "escalada: No mailbox to poll: add one in Settings → Channels, or set ESCALADA_IMAP_HOST, ESCALADA_IMAP_USER and ESCALADA_IMAP_PASSWORD.\n"
    )
    settings.ESCALADA_IMAP_HOST, settings.ESCALADA_IMAP_USER, settings.ESCALADA_IMAP_PORT = "127.0.0.1", "x", 1
    assert main(["mail", "imap", "--once"]) == 2
    assert capsys.readouterr().err == "escalada: Cannot reach 127.0.0.1:1: Connection refused.\n"


def test_a_bad_report_time_zone_stops_the_start_with_a_sentence(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "ESCALADA_REPORT_TIME_ZONE": "Mars/Olympus", "ESCALADA_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "escalada.cli", "doctor"], env=env, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (
        2,
        "escalada: ESCALADA_REPORT_TIME_ZONE must be an IANA time zone such as Europe/Berlin, not 'Mars/Olympus'.\n",
    )
