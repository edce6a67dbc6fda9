"""The suite's shared fixtures: its databases, its one real Rasa server, and who may use that server."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.procs import free_port, wait_http

__all__ = ["ROOT", "RasaServer", "free_port"]

# The database fixtures (tests/storage/fixtures.py: a fresh migrated SQLite and PostgreSQL database
# per test) for every directory, declared once here instead of imported by each conftest.
pytest_plugins = ["tests.storage.fixtures"]

# python-telegram-bot's future default for time periods, as `python -m bot` sets it; without it PTB
# warns when it builds a RetryAfter, and warnings are errors in this suite.
os.environ.setdefault("PTB_TIMEDELTA", "true")

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "sro-nlu.tar.gz"


@dataclass(frozen=True)
class RasaServer:
    url: str
    token: str
    log: Path


@pytest.fixture(scope="session")
def rasa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    """The real Rasa server with the trained model, started once per test run.

    For development, TEST_NLU_URL and TEST_NLU_TOKEN name a server already running (scripts/nlu-server)
    so that repeated runs skip its start-up. Unset (as in CI), each run starts its own.
    """
    shared_url, shared_token = os.environ.get("TEST_NLU_URL"), os.environ.get("TEST_NLU_TOKEN")
    if shared_url and shared_token:
        # Its output, for the tests that scan it: TEST_NLU_LOG if given, else nothing to scan.
        shared_log = Path(os.environ.get("TEST_NLU_LOG") or tmp_path_factory.mktemp("rasa") / "shared.log")
        shared_log.touch()
        yield RasaServer(shared_url.rstrip("/"), shared_token, shared_log)
        return
    if not MODEL.exists():
        pytest.fail("no trained model in models/: run the suite through 'make test'")
    port, token = free_port(), secrets.token_urlsafe(24)
    log = tmp_path_factory.mktemp("rasa") / "rasa.log"
    env = {**os.environ, "NLU_PORT": str(port), "NLU_TOKEN": token}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "nlu-server")], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/", process, seconds=180, what="the Rasa server")
        except (RuntimeError, TimeoutError) as error:
            pytest.fail(f"{error}:\n{log.read_text()[-3000:]}")
        yield RasaServer(url, token, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tiers hold: a test that uses the real Rasa server must say so with the `rasa` marker, so
    that the fast tier (`make test-fast`, unmarked tests only) never starts one."""
    unmarked = [
        item.nodeid
        for item in items
        if "rasa_server" in getattr(item, "fixturenames", ()) and item.get_closest_marker("rasa") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"tests using rasa_server without the rasa marker: {unmarked}")
