"""`escalada run` as a new user starts it: it prepares everything, serves, and stops cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ESCALADA, free_port
from tests.e2e.conftest import http_get as _get
from tests.e2e.conftest import wait_for as _wait_for

pytestmark = pytest.mark.e2e


def test_run_serves_login_and_api_docs_then_stops_on_sigterm(e2e_env: dict[str, str]) -> None:
    port = free_port()
    process = subprocess.Popen(
        [ESCALADA, "run", "--port", str(port)],
        env={**e2e_env, "ESCALADA_WEB_WORKERS": "2", "ESCALADA_ACCESS_LOG": "/dev/null"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process)
        login_status, login_page = _get(f"http://127.0.0.1:{port}/login/")
        docs_status, docs_page = _get(f"http://127.0.0.1:{port}/api/docs")
        assert (login_status, docs_status) == (200, 200)
        assert "Sign in to Escalada" in login_page
        assert "/static/ninja/swagger-ui-bundle.js" in docs_page  # served locally, no CDN
        assert _get(f"http://127.0.0.1:{port}/static/ninja/swagger-ui-bundle.js")[0] == 200
        assert _get(f"http://127.0.0.1:{port}/api/v1/tickets")[0] == 401
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    match = re.search(r"Sign in as admin / (\S+) ", output)
    assert match is not None, output
    assert f"Escalada is running at http://127.0.0.1:{port}/" in output
    assert "worker started" in output
    assert "worker stopped" in output
    assert output.rstrip().endswith("Escalada stopped.")
    password_file = Path(e2e_env["ESCALADA_DATA_DIR"]) / "initial-admin-password"
    assert password_file.read_text().strip() == match.group(1)
    assert oct(password_file.stat().st_mode & 0o777) == "0o600"


def test_worker_starts_logs_and_stops_on_sigterm(e2e_env: dict[str, str]) -> None:
    subprocess.run([ESCALADA, "manage", "migrate", "--verbosity", "0"], env=e2e_env, check=True, timeout=120)
    process = subprocess.Popen([ESCALADA, "worker"], env=e2e_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert (
        "worker started; jobs: sla_fire_due, escalation_fire_due, outbox_deliver_due, mail_process_pending, idempotency_key_purge, report_rollups, ladder_follow_moved_times, overdue_audit"
        in first
    )
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "worker stopping (signal 15)" in rest
    assert rest.rstrip().endswith("worker stopped")


def test_a_bad_setting_is_one_sentence_and_exit_2(e2e_env: dict[str, str]) -> None:
    result = subprocess.run(
        [ESCALADA, "worker", "--once"], env={**e2e_env, "DATABASE_URL": "mysql://x/y"}, capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "escalada: DATABASE_URL must start with postgres:// or sqlite:///, not 'mysql'.\n"
