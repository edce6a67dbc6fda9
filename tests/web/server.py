"""The real dashboard process (`python -m web`) on a free port, for the process and browser tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from devtools.procs import free_port, wait_http
from tests.web.conftest import web_key_file

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class WebProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def web_process(database_url: str, log: Path, **extra: str) -> Iterator[WebProcess]:
    """Start `python -m web` against `database_url`; `extra` environment variables on top.

    Its WEB_KEY_FILE holds the tests' web key (conftest's WEB_KEY), which their accounts are bound with.
    """
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SRO_MASTER_KEY", "WEB_", "PORT"))},
        "DATABASE_URL": database_url,
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "WEB_KEY_FILE": str(web_key_file(log.parent)),
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


@contextmanager
def app_in_thread(make_app: Callable[[], Any]) -> Iterator[str]:
    """Serve the ASGI app `make_app()` builds (inside the server's own loop) with uvicorn in a thread.

    For what a separate process cannot give: a dashboard whose clock the test sets (the screenshots'
    fixed day). Everything else about the dashboard is the same app `python -m web` serves.
    """
    port = free_port()
    ready = threading.Event()
    server: list[uvicorn.Server] = []

    def serve() -> None:
        async def main() -> None:
            config = uvicorn.Config(
                make_app(), host="127.0.0.1", port=port, access_log=False, log_level="warning", lifespan="on"
            )
            server.append(uvicorn.Server(config))
            ready.set()
            await server[0].serve()

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(60)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not (server and server[0].started):  # a wait for start-up, not a timed assertion
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard (in a thread) did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        if server:
            server[0].should_exit = True
        thread.join(30)
