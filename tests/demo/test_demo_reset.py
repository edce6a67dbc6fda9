"""`make demo-reset` starts the demo afresh, and never under a running demo (issue 9)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def reset(var: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SRO_VAR_DIR": str(var)}
    return subprocess.run(
        [sys.executable, "-m", "devtools.demo", "--reset"], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_reset_deletes_the_demo_state_but_not_under_a_running_demo(tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "demo").mkdir(parents=True)
    state = [var / "demo.db", var / "demo.db-wal", var / "demo-master.key", var / "demo" / "bot.log"]
    for path in state:
        path.write_text("x")
    keep = var / "sro.db"  # not the demo's
    keep.write_text("x")

    with (var / "demo.lock").open("ab") as lock:  # what a running demo holds
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        refused = reset(var)
    assert refused.returncode == 1
    assert "already running" in refused.stderr
    assert all(path.exists() for path in state)

    done = reset(var)  # control: with the demo gone, the same command deletes it all
    assert done.returncode == 0, done.stderr
    assert not any(path.exists() for path in state)
    assert not (var / "demo").exists()
    assert keep.exists()
