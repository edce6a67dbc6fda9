"""Tesseract in a subprocess, image on stdin and text on stdout; a missing or stuck one reads as None."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from casework.evidence import strip_image
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
