"""The Rasa server's token is never on a command line, where every user of the machine can read it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, RasaServer, free_port

pytestmark = pytest.mark.rasa


def command_lines_containing(secret: str) -> list[int]:
    """The processes whose arguments (what `ps` shows) contain `secret`."""
    found = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if secret.encode() in path.read_bytes():
                found.append(int(path.parent.name))
        except OSError:  # the process ended meanwhile
            continue
    return found


def test_the_token_is_not_on_any_command_line(rasa_server: RasaServer) -> None:
    # The server is up and really needs its token (positive control for "the token is in use").
    parse = f"{rasa_server.url}/model/parse"
    assert httpx.post(parse, json={"text": "hi"}, timeout=10).status_code == 401
    authorised = httpx.post(parse, params={"token": rasa_server.token}, json={"text": "hi"}, timeout=10)
    assert authorised.status_code == 200
    assert command_lines_containing(rasa_server.token) == []


def test_the_scan_finds_a_secret_on_a_command_line() -> None:
    """Positive control: the scan above would see a token passed as an argument."""
    marker = secrets.token_urlsafe(24)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()", marker], stdin=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while command_lines_containing(marker) != [holder.pid] and time.monotonic() < deadline:
            time.sleep(0.05)  # until the child has exec'd: its arguments are then in /proc
        assert command_lines_containing(marker) == [holder.pid]
    finally:
        holder.communicate(b"")


def test_a_token_that_begins_with_a_dash_is_still_a_token(tmp_path: Path) -> None:
    """token_urlsafe gives one token in 64 that begins with "-": Rasa must not read it as an option."""
    port, token = free_port(), "-" + secrets.token_urlsafe(24)
    env = {**os.environ, "NLU_PORT": str(port), "NLU_TOKEN": token}
    with (tmp_path / "rasa.log").open("wb") as log:
        server = subprocess.Popen([str(ROOT / "scripts" / "nlu-server")], env=env, stdout=log, stderr=log)
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
        while True:
            assert server.poll() is None, (tmp_path / "rasa.log").read_text()[-2000:]
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the Rasa server did not start"
            time.sleep(0.5)
        parsed = httpx.post(f"{url}/model/parse", params={"token": token}, json={"text": "hi"}, timeout=30)
        assert parsed.status_code == 200
        assert command_lines_containing(token) == []
    finally:
        server.terminate()
        server.wait(timeout=30)
