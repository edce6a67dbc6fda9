"""Nothing of an image touches the disk in the clear, not even a temporary file.

Two witnesses. In the bot's own process, a Python audit hook records every file opened for writing
while a student's image goes through the whole path (downloaded, stripped, read by Tesseract, asked
about, sealed, sent to the officer): none may be. SQLite writes through its C library, not Python's
`open`, so the database (sealed, and scanned by test_evidence_clear.py) is not what this watches.
In Tesseract's process, `strace` records every file it opens: none for writing (`tesseract stdin
stdout`). Positive controls: a temporary file opened while the hook watches is recorded, and
Tesseract told to write its text to a file is seen doing so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from casework.evidence import strip_image
from casework.evidence.ocr import read_text
from tests.bot.harness import World
from tests.bot.scripted import ScriptedClassifier
from tests.bot.test_evidence_e2e import QUESTION, answer_question, finish_and_send, in_interview, until
from tests.bot.test_evidence_threat import chat_screenshot

pytestmark = pytest.mark.ocr

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_written: list[str] | None = None  # set while watching


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _written is None or event != "open":
        return
    path, mode, flags = args
    if isinstance(path, int) or str(path).startswith("/dev/"):
        return  # an already open descriptor (a pipe, a socket), or /dev/null for a silenced stderr
    writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
        isinstance(mode, str) and any(c in mode for c in "wax+")
    )
    if writing:
        _written.append(str(path))


sys.addaudithook(_hook)  # cannot be removed; it does nothing unless a test watches


async def test_the_bot_opens_no_file_for_writing_on_an_images_whole_path(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    global _written
    world = scripted_world
    screenshot = chat_screenshot(["see you at the plaza"])
    words = await read_text(strip_image(screenshot).data)
    assert words is not None
    script.says(words, "out_of_scope", confidence=0.9)  # its words, read for danger: not urgent
    officer = await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        _written = []
        try:
            await world.emu.send_document(student.user, "Screenshot.png", screenshot, mime_type="image/png")
            await until(student, QUESTION)
            assert "with your report" in await answer_question(world, student, "No, keep it")
            await finish_and_send(student)
            await world.emu.next_messages(officer, 2, timeout=30)  # the tip, then the image
            await world.settled()
            seen = list(_written)
            with tempfile.TemporaryFile():  # positive control: the hook sees a temporary file
                pass
            control = list(_written[len(seen) :])
        finally:
            _written = None
    assert seen == []
    assert control  # the control was recorded


def _strace(tmp_path: Path, *tesseract_args: str, stdin: bytes) -> list[str]:
    """Files Tesseract opened for writing (strace -f), with `stdin` as its input."""
    log = tmp_path / "strace.log"
    subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=open,openat,creat",
            "-o",
            str(log),
            "tesseract",
            *tesseract_args,
        ],
        input=stdin,
        capture_output=True,
        check=True,
        env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
    )
    writes = []
    for line in log.read_text().splitlines():
        if any(flag in line for flag in ("O_WRONLY", "O_RDWR", "O_CREAT", "creat(")) and "/dev/" not in line:
            writes.append(line)
    return writes


def test_tesseract_reads_from_stdin_and_writes_no_file(tmp_path: Path) -> None:
    if shutil.which("strace") is None or shutil.which("tesseract") is None:
        pytest.fail("strace and tesseract are needed to watch what Tesseract opens")
    image = chat_screenshot(["ur dead tmrw at lunch"])
    assert _strace(tmp_path, "stdin", "stdout", "-l", "eng+fra", "--psm", "3", stdin=image) == []
    # Positive control: told to write its text to a file, it is seen opening that file for writing.
    written = _strace(tmp_path, "stdin", str(tmp_path / "out"), "-l", "eng", stdin=image)
    assert any(str(tmp_path / "out") in line for line in written)
