"""Fixtures shared by the whole suite: the one real Rasa server of a test run."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

# python-telegram-bot's future default for time periods, as `python -m bot` sets it; without it PTB
# warns when it builds a RetryAfter, and warnings are errors in this suite.
os.environ.setdefault("PTB_TIMEDELTA", "true")

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "sro-nlu.tar.gz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    deadline = time.monotonic() + 180
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"Rasa server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("Rasa server did not start within 180 s")
            time.sleep(0.5)
        yield RasaServer(url, token, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
