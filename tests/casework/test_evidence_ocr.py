"""Tesseract in a subprocess, image on stdin and text on stdout; a missing or stuck one reads as None."""

from __future__ import annotations

import asyncio
import io
import os
import stat
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from casework.evidence import ocr, strip_image
from casework.evidence.ocr import normalise, read_text

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def text_image(words: str) -> bytes:
    image = Image.new("RGB", (900, 120), (255, 255, 255))
    ImageDraw.Draw(image).text((20, 30), words, fill=(0, 0, 0), font=ImageFont.truetype(FONT, 44))
    out = io.BytesIO()
    image.save(out, "PNG")
    return strip_image(out.getvalue()).data


@pytest.mark.ocr
async def test_tesseract_reads_english_and_french_from_memory(tmp_path: Path) -> None:
    before = set(os.listdir(tmp_path))
    assert "lunch" in ((await read_text(text_image("ur dead tmrw at lunch"))) or "")
    assert "récré" in ((await read_text(text_image("on te frappe à la récré"))) or "")
    assert await read_text(strip_image(_blank()).data) == ""  # no text: empty, not None
    assert set(os.listdir(tmp_path)) == before


def _blank() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 200), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


async def test_a_missing_tesseract_reads_as_none() -> None:
    assert await read_text(b"anything", executable="no-such-tesseract-here") is None


async def test_a_stuck_or_failing_tesseract_reads_as_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = tmp_path / "stuck-tesseract"
    stuck.write_text("#!/bin/sh\nexec sleep 30\n")
    failing = tmp_path / "failing-tesseract"
    failing.write_text("#!/bin/sh\necho 'read this' ; exit 3\n")
    working = tmp_path / "working-tesseract"
    working.write_text("#!/bin/sh\ncat > /dev/null; printf 'ur dead\\f\\n\\n  tmrw  '\n")
    for script in (stuck, failing, working):
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ.get('PATH', '')}")
    assert await read_text(b"x", executable="stuck-tesseract", seconds=0.5) is None
    assert await read_text(b"x", executable="failing-tesseract") is None
    # Control: the same mechanism reads a working one's output (normalised).
    assert await read_text(b"x", executable="working-tesseract") == "ur dead\ntmrw"


def _counting_tesseract(tmp_path: Path) -> tuple[str, Path]:
    """A fake Tesseract that notes how many readings run beside it (waiting up to a second for 3)."""
    running, log = tmp_path / "running", tmp_path / "log"
    running.mkdir()
    script = tmp_path / "counting-tesseract"
    script.write_text(
        "#!/bin/sh\ncat > /dev/null\n"
        f"touch {running}/$$\n"
        f"for i in 1 2 3 4 5 6 7 8 9 10; do [ $(ls {running} | wc -l) -ge 3 ] && break; sleep 0.1; done\n"
        f"ls {running} | wc -l >> {log}\nrm {running}/$$\nprintf ok\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


@pytest.mark.parametrize(("at_once", "most"), [(2, 2), (10, 4)])
async def test_only_so_many_readings_run_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at_once: int, most: int
) -> None:
    """A burst of images runs at most `AT_ONCE` Tesseracts; with room for all (the control), the same
    burst runs them side by side, so the count can fail."""
    monkeypatch.setattr(ocr, "AT_ONCE", at_once)
    executable, log = _counting_tesseract(tmp_path)
    read = await asyncio.gather(*(read_text(b"x", executable=executable, seconds=20) for _ in range(4)))
    assert read == ["ok"] * 4  # every one read, in turn
    assert max(int(line) for line in log.read_text().split()) == most


async def test_a_reading_that_cannot_get_a_turn_in_time_reads_as_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "AT_ONCE", 1)
    stuck = tmp_path / "stuck-tesseract"
    stuck.write_text("#!/bin/sh\nexec sleep 30\n")
    stuck.chmod(stuck.stat().st_mode | stat.S_IEXEC)
    first = asyncio.create_task(read_text(b"x", executable=str(stuck), seconds=2.0))
    await asyncio.sleep(0)  # the first takes the only turn
    assert await read_text(b"x", executable=str(stuck), seconds=0.2) is None
    assert await first is None  # stuck: killed at its timeout, and the turn given back
    assert ocr._slot()._value == 1


def test_normalise_joins_lines_and_cuts() -> None:
    assert normalise("a  b\n\n\fc\n") == "a b\nc"
    assert len(normalise("x" * 20_000)) == 8000


def test_heic_photos_are_accepted_and_come_out_as_jpeg() -> None:
    heif = pytest.importorskip("pillow_heif")
    heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(out, format="HEIF", quality=80)
    stripped = strip_image(out.getvalue())
    assert (stripped.mime, stripped.width, stripped.height) == ("image/jpeg", 64, 48)
