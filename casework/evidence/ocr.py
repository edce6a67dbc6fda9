"""The text of an image, read locally by Tesseract in a subprocess: image on stdin, text on stdout.

Nothing touches the disk (`tesseract stdin stdout`), nothing leaves the
machine. Tesseract missing, failing or too slow gives None: the image is
still accepted, and the student is told it could not be read. At most `AT_ONCE` readings run at a
time (all but one core: the bot's turns keep one); a reading that waits longer than its timeout for
its turn gives None too, so a burst of large images bounds the work, not the students' wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import weakref

logger = logging.getLogger(__name__)

LANGUAGES = "eng+fra"
TIMEOUT_SECONDS = 30.0
MAX_TEXT = 8000  # characters kept: a long chat screenshot, and room in the sealed body for a caption
AT_ONCE = max(1, len(os.sched_getaffinity(0)) - 1)

# One semaphore per event loop (an asyncio.Semaphore belongs to the loop it first waits in).
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        slot = _slots[loop] = asyncio.Semaphore(AT_ONCE)
    return slot


def available(executable: str = "tesseract") -> bool:
    return shutil.which(executable) is not None


async def read_text(
    image: bytes,
    *,
    executable: str = "tesseract",
    languages: str = LANGUAGES,
    seconds: float = TIMEOUT_SECONDS,
) -> str | None:
    """The text Tesseract reads in `image` ('' when there is none), or None if it could not run."""
    path = shutil.which(executable)
    if path is None:
        logger.warning("evidence.ocr_missing")
        return None
    slot = _slot()
    try:
        await asyncio.wait_for(slot.acquire(), seconds)
    except TimeoutError:
        logger.warning("evidence.ocr_busy")
        return None
    try:
        return await _run(path, image, languages, seconds)
    finally:
        slot.release()


async def _run(path: str, image: bytes, languages: str, seconds: float) -> str | None:
    try:
        process = await asyncio.create_subprocess_exec(
            path,
            "stdin",
            "stdout",
            "-l",
            languages,
            "--psm",
            "3",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,  # its warnings can quote nothing of ours, but say nothing
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},  # one core: the machine is shared
        )
    except OSError as error:
        logger.warning("evidence.ocr_failed error=%s", type(error).__name__)
        return None
    try:
        out, _ = await asyncio.wait_for(process.communicate(image), seconds)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        logger.warning("evidence.ocr_timeout")
        return None
    if process.returncode != 0:
        logger.warning("evidence.ocr_failed error=exit_%s", process.returncode)
        return None
    return normalise(out.decode("utf-8", errors="replace"))


def normalise(text: str) -> str:
    """Lines joined as typed text would be, blank lines and form feeds gone, cut to MAX_TEXT."""
    lines = [" ".join(line.split()) for line in text.replace("\f", "\n").splitlines()]
    return "\n".join(line for line in lines if line)[:MAX_TEXT]
