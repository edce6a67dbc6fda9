"""The real dashboard process (`python -m web`) on a free port, for the process and browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools.procs import free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class WebProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def web_process(database_url: str, log: Path, **extra: str) -> Iterator[WebProcess]:
    """Start `python -m web` against `database_url`; `extra` environment variables on top."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SRO_MASTER_KEY", "WEB_", "PORT"))},
        "DATABASE_URL": database_url,
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        **extra,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "web"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/login", process, seconds=60, what="the dashboard")
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}: {log.read_text()[-2000:]}") from error
        yield WebProcess(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
