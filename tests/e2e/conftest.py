"""End-to-end fixtures: real processes on loopback, each with its own data directory and, when
the suite runs on PostgreSQL, its own throwaway database."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

ESCALADA = str(Path(sys.executable).with_name("escalada"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process exited early with {process.returncode}")
        try:
            if http_get(url)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@contextmanager
def throwaway_env(directory: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["ESCALADA_DATA_DIR"] = str(directory / "data")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        env.pop("DATABASE_URL", None)
        yield env
        return
    import psycopg

    parsed = urlparse(url)
    name = f"escalada_e2e_{uuid.uuid4().hex[:10]}"
    admin_url = urlunparse(parsed._replace(path="/postgres", query=""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = urlunparse(parsed._replace(path=f"/{name}"))
    try:
        yield env
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def e2e_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with throwaway_env(tmp_path) as env:
        yield env


@dataclass(frozen=True)
class RunningEscalada:
    url: str
    password: str  # the admin's, shared by the demo users
    log: Path


@pytest.fixture(scope="module")
def escalada_with_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEscalada]:
    """`escalada run` with its first-start demo data, as a new user starts it."""
    directory = tmp_path_factory.mktemp("escalada")
    port = free_port()
    log = directory / "run.log"
    with throwaway_env(directory) as env, log.open("w") as out:
        env.update({"ESCALADA_WEB_WORKERS": "2", "ESCALADA_ACCESS_LOG": "/dev/null"})
        process = subprocess.Popen(
            [ESCALADA, "run", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", process)
            match = re.search(r"Sign in as admin / (\S+) ", log.read_text())
            assert match is not None, log.read_text()
            yield RunningEscalada(url=f"http://127.0.0.1:{port}", password=match.group(1), log=log)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
