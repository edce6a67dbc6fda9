"""The dashboard never holds the master key: not in its imports, its settings, its environment or its files.

The process proof uses a named pipe as SRO_MASTER_KEY_FILE: whoever opens it to read is seen at once
(a writer can open a pipe only while a reader has it open), so "never read" is observed, not assumed.
The positive control runs the real key loader with the same environment and sees it open the pipe.
"""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import WebRole
from tests.storage.fixtures import Templates
from tests.web.conftest import PAGES_AND_CSVS, add_person, copy_template, login_sync, seed
from tests.web.server import ROOT, web_process
from web.__main__ import web_settings

KEY = MasterKey.generate().encoded()


def modules_after(imports: str) -> set[str]:
    code = f"import sys\n{imports}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(done.stdout.split())


def test_the_web_package_imports_no_key_handling() -> None:
    loaded = modules_after("import web.__main__, web.app, web.accounts, web.pages, web.figures, web.charts")
    # The crypto façade's primitives only (the web key seals second factors with them): no key ring,
    # no master key, no sealing of cases.
    assert {m for m in loaded if m.startswith("casework.vault")} == {
        "casework.vault",
        "casework.vault.crypto",
    }
    assert "admin.runtime" not in loaded
    # Positive control: the operator's CLI, which holds the key, does load the key loader.
    assert "casework.vault.master_key" in modules_after("import admin.runtime")


def test_web_settings_hold_no_key_even_when_the_environment_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRO_MASTER_KEY", KEY)
    monkeypatch.setenv("SRO_MASTER_KEY_FILE", "/nonexistent/key")
    assert Settings().sro_master_key is not None  # positive control: the variable is set and readable
    settings = web_settings()
    assert settings.sro_master_key is None
    assert settings.sro_master_key_file is None


def _reader_present(fifo: Path) -> bool:
    """True when some process has the pipe open for reading (a non-blocking writer can then open it)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        if error.errno != errno.ENXIO:
            raise
        return False
    os.close(fd)
    return True


def test_the_web_process_runs_with_the_key_set_yet_never_holds_or_reads_it(
    migrated_templates: Templates, tmp_path: Path
) -> None:
    url = copy_template(migrated_templates, tmp_path)
    now = datetime.now(UTC)

    async def prepare() -> str:
        db = Database.connect(url)
        await seed(db)
        person = await add_person(db, "ann@example.org", WebRole.COORDINATOR, [], now=now)
        await db.close()
        assert person.secret is not None
        return person.secret

    secret = asyncio.run(prepare())
    fifo = tmp_path / "master.key"
    os.mkfifo(fifo, 0o600)
    env = {"SRO_MASTER_KEY": KEY, "SRO_MASTER_KEY_FILE": str(fifo)}
    with web_process(url, tmp_path / "web.log", **env) as web:
        environ = Path(f"/proc/{web.process.pid}/environ").read_bytes()
        assert b"SRO_MASTER_KEY" not in environ
        assert KEY.encode() not in environ
        assert b"DATABASE_URL" in environ  # the check reads the right process's environment (control)
        with httpx.Client(base_url=web.url) as client:
            assert login_sync(client, "ann@example.org", secret).status_code == 303
            for path in PAGES_AND_CSVS:
                assert client.get(path).status_code == 200, path
        assert not _reader_present(fifo)
    # Positive control: the real key loader, in a process with the same environment, opens the pipe.
    loader = subprocess.Popen(
        [sys.executable, "-c", "from admin.runtime import Context, settings; "
         "from casework.vault.master_key import load_master_key; from pathlib import Path; "
         "s = settings(); s.sro_master_key = None; load_master_key(s, local_key_file=Path('/nonexistent'))"],
        env={**os.environ, **env, "DATABASE_URL": url},
        cwd=ROOT,
    )  # fmt: skip
    opened = threading.Event()

    def feed() -> None:
        with fifo.open("w", encoding="ascii") as pipe:  # blocks until the loader opens it to read
            opened.set()
            pipe.write(KEY + "\n")

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    assert loader.wait(timeout=60) == 0
    feeder.join(timeout=10)
    assert opened.is_set()
