"""`make run`'s demo, started again and again on one scratch var/: every run, a student's urgent report
reaches Cst. Maple, also after a run killed during start-up or mid-conversation.

Each run is `python -m devtools.demo` (what scripts/run starts without a token) in a pseudo-terminal, with
SRO_VAR_DIR pointed at the test's directory; the demo picks free ports and starts its own Rasa server.
The test types into the terminal chat as a person would and reads what the chat prints.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.conftest import MODEL, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

START_SECONDS = 300  # Rasa alone takes 20-40 s, more on a busy machine
STEP_SECONDS = 90
# A case code as the student sees it once a report is sent (the check symbol may be a letter or a sign).
CASE_CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-\S")


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    return [pid for pid, (_, _, group) in process_table().items() if group == pgid]


def process_table() -> dict[int, tuple[str, int, int]]:
    """pid -> (state, parent pid, process group) of every live process; zombies count as gone."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # exited meanwhile
            continue
        state, ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]  # after "pid (comm) "
        if state != "Z":
            table[int(stat.parent.name)] = (state, int(ppid), int(pgrp))
    return table


def wait_group_gone(pgid: int) -> None:
    deadline = time.monotonic() + 60
    while group_members(pgid):
        assert time.monotonic() < deadline, f"demo processes left behind: {group_members(pgid)}"
        time.sleep(0.2)


class DemoRun:
    """One `make run` demo in a pseudo-terminal: its own session, so its process group is the demo."""

    def __init__(self, var: Path, number: int) -> None:
        env = {
            **os.environ,
            "SRO_VAR_DIR": str(var),
            "PTB_TIMEDELTA": "true",
            "NO_COLOR": "1",  # fewer escape codes between the words the test looks for
        }
        env.pop("TELEGRAM_BOT_TOKEN", None)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "devtools.demo"],
            cwd=str(ROOT),
            env=env,
            encoding="utf-8",
            timeout=STEP_SECONDS,
            dimensions=(50, 220),  # wide enough that no panel wraps the words looked for
        )
        self.log = (var.parent / f"run-{number}.log").open("a", encoding="utf-8")  # what the terminal showed
        self.child.logfile_read = self.log
        self.pgid = self.child.pid  # pexpect's child calls setsid()

    def expect(self, text: str, timeout: float = STEP_SECONDS) -> None:
        self.child.expect(re.escape(text), timeout=timeout)

    def ready(self) -> None:
        self.expect("demo: ready", timeout=START_SECONDS)
        self.expect("student › ")

    def urgent_report(self, place: str) -> None:
        """A student names Maple Ridge and reports a weapon; they get the case code of a sent report.

        Waits only on what the chat itself prints (buttons, presses) and on data (the school's name,
        the code), not on the bot's wording, which the catalog may change.
        """
        self.child.sendline("/start")
        self.child.sendline("maple")  # the bot answers in order, so this is the answer to "which school?"
        # The button's number and its text are styled apart: escape codes may sit between them.
        self.child.expect(r"\[1\] (\x1b\[[0-9;]*m)*Maple Ridge Collegiate Institute")
        self.child.sendline("1")
        self.expect("you pressed [Maple Ridge Collegiate Institute]")
        self.child.sendline(f"a kid has a gun in his bag in the {place}")
        self.child.expect(CASE_CODE, timeout=STEP_SECONDS)

    def officer_sees(self, place: str) -> None:
        """Cst. Maple's chat shows this run's tip, with the student's words."""
        self.child.sendline(":as officer Maple")
        self.expect("You are Maple (officer)")
        self.expect(f"a kid has a gun in his bag in the {place}")

    def quit(self) -> None:
        self.child.sendline(":quit")
        self.child.expect(pexpect.EOF, timeout=60)
        self.child.wait()
        assert self.child.exitstatus == 0, self.child.before
        wait_group_gone(self.pgid)
        self.log.close()

    def kill(self) -> None:
        """SIGKILL of the whole demo, as when its terminal is killed."""
        if group_members(self.pgid):
            os.killpg(self.pgid, signal.SIGKILL)
        self.child.close(force=True)
        wait_group_gone(self.pgid)
        self.log.close()


@pytest.fixture
def demo_runs(tmp_path: Path) -> Iterator[list[DemoRun]]:
    """A factory's record of every run, each killed (whole group) at teardown if still there."""
    if not MODEL.exists():
        pytest.fail("no trained model in models/: run the suite through 'make test'")
    runs: list[DemoRun] = []
    yield runs
    for run in runs:
        if group_members(run.pgid):
            os.killpg(run.pgid, signal.SIGKILL)
        run.child.close(force=True)
        run.log.close()


def test_the_demo_reaches_its_officer_every_run(tmp_path: Path, demo_runs: list[DemoRun]) -> None:
    var = tmp_path / "var"

    def start() -> DemoRun:
        demo_runs.append(DemoRun(var, len(demo_runs) + 1))
        return demo_runs[-1]

    def complete_run(place: str) -> None:
        run = start()
        run.ready()
        run.urgent_report(place)
        run.officer_sees(place)
        run.quit()

    # Killed on a fresh var/ while enrolling: officers created, codes issued, nobody enrolled yet.
    first = start()
    first.expect("demo: enrolling the demo officers", timeout=START_SECONDS)
    first.kill()

    complete_run("caf")
    complete_run("gym")  # the second `make run` in a row: the failure issue 9 reported

    # Killed during start-up again, once the bot is connected to the new emulator.
    killed = start()
    killed.expect("demo: the bot is connected", timeout=START_SECONDS)
    killed.kill()
    complete_run("library")

    # Killed mid-conversation: an urgent case open, the student adding to it.
    talking = start()
    talking.ready()
    talking.urgent_report("hallway")
    talking.child.sendline("he is by the stairs now")
    talking.expect("he is by the stairs now")
    talking.kill()
    complete_run("parking lot")

    assert not (var / "demo" / "bot.log").read_text().count("Traceback")


def test_a_killed_demo_takes_its_background_processes_with_it(tmp_path: Path) -> None:
    """`kill -9` of the demo alone (not its group, no terminal hang-up): the Rasa server, the emulator and
    the bot end too, so no bot of an earlier run keeps working on var/demo.db beside the next one."""
    if not MODEL.exists():
        pytest.fail("no trained model in models/: run the suite through 'make test'")
    env = {**os.environ, "SRO_VAR_DIR": str(tmp_path / "var"), "PTB_TIMEDELTA": "true"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    # A session of its own without a terminal: nothing sends the children a hang-up when the demo dies.
    demo = subprocess.Popen(
        [sys.executable, "-m", "devtools.demo"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            if "the bot is connected" in line:
                break
        children = [pid for pid, (_, parent, _) in process_table().items() if parent == demo.pid]
        assert len(children) == 3  # control: the Rasa server, the emulator and the bot are running
        demo.kill()
        demo.wait()
        deadline = time.monotonic() + 60
        while left := [pid for pid in children if pid in process_table()]:
            assert time.monotonic() < deadline, f"outlived the demo: {left}"
            time.sleep(0.2)
    finally:
        if group_members(demo.pid):
            os.killpg(demo.pid, signal.SIGKILL)
        if demo.stdout is not None:
            demo.stdout.close()
        demo.wait()
