"""Benchmarks of evidence images: `python -m devtools.bench.evidence` (or `make bench-evidence`).

Measures, on this machine, for images of about 1 MB and 5 MB once re-encoded: stripping (decode,
orientation, re-encode, from a camera JPEG with EXIF), sealing and storing one image into a case
(one transaction, SQLite in WAL mode), opening it again for an officer, and how much the database
file grows per image. Then Tesseract's time per screenshot (`tesseract stdin stdout -l eng+fra`,
one thread). Medians of several runs. Writes the "Evidence images" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from casework import evidence, officers, schools
from casework.cases import intake
from casework.evidence.ocr import read_text
from casework.policy import CasePolicy
from casework.schools import NewSchool
from casework.vault.keys import KeyRing
from casework.vault.master_key import KeySource, MasterKey
from devtools.benchdoc import git_revision, machine, write_section
from storage import migrations
from storage.db import Database
from storage.models import AssignmentKind, CaseKind, Role

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = CasePolicy(
    urgent_ack=timedelta(minutes=5),
    remind_after=timedelta(hours=24),
    retention=timedelta(days=90),
    timezone=ZoneInfo("America/Toronto"),
)
MEGABYTE = 1024 * 1024
CHAT_WORDS = ["ur", "dead", "tmrw", "at", "lunch", "dont", "tell", "anyone", "or", "else", "we", "know"]


def camera_photo(target: int, seed: int = 7) -> bytes:
    """A JPEG with EXIF (camera, orientation) whose re-encoding is about `target` bytes."""
    rng = random.Random(seed)  # noqa: S311 - test pixels, not secrets
    side = 800
    while True:
        noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        photo = Image.new("RGB", (side, side), (120, 160, 90))
        photo = Image.blend(photo, noise, 0.35)
        exif = Image.Exif()
        exif[0x010F], exif[0x0112] = "BenchCam", 6
        out = io.BytesIO()
        photo.save(out, "JPEG", quality=95, exif=exif)
        size = len(evidence.strip_image(out.getvalue()).data)
        if abs(size - target) < target * 0.08:
            return out.getvalue()
        side = int(side * (target / size) ** 0.5)


def chat_screenshot(lines: int) -> bytes:
    """A phone chat screenshot (1080 px wide), `lines` lines of text in bubbles."""
    font = ImageFont.truetype(FONT, 40)
    image = Image.new("RGB", (1080, 140 + 90 * lines), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    words = CHAT_WORDS
    rng = random.Random(lines)  # noqa: S311 - test words, not secrets
    for n in range(lines):
        line = " ".join(rng.choice(words) for _ in range(6))
        left = 40 if n % 2 else 300
        draw.rounded_rectangle((left, 60 + 90 * n, left + 740, 130 + 90 * n), radius=24, fill=(230, 230, 234))
        draw.text((left + 24, 72 + 90 * n), line, fill=(15, 15, 15), font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def timed(function: Callable[[], Awaitable[object]], runs: int) -> float:
    """The median of `runs` timings, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def setup(db: Database) -> tuple[KeyRing, int, int]:
    """Keys, one school with a primary, a backup and a supervisor (3 officer envelopes per image)."""
    async with db.transaction() as session:
        keys = await KeyRing.load(session, MasterKey.generate(KeySource("environment")), NOW)
        school = await schools.add_school(session, NewSchool.checked("Bench Secondary", "BEN"), NOW)
        officer = 0
        for name, role, kind in (
            ("primary", Role.OFFICER, AssignmentKind.PRIMARY),
            ("backup", Role.OFFICER, AssignmentKind.BACKUP),
            ("supervisor", Role.SUPERVISOR, None),
        ):
            made = await officers.create_officer(session, keys, display_name=name, role=role, now=NOW)
            if kind is not None:
                await officers.assign(session, keys, made, "BEN", kind=kind, now=NOW)
            officer = officer or made
    return keys, school.id, officer


def _checkpointed_size(path: Path) -> int:
    """The database's size once the WAL is folded into the file (pages in use, not the file's slack)."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


async def db_size(path: Path) -> int:
    return await asyncio.to_thread(_checkpointed_size, path)


async def measure_images(runs: int) -> list[dict[str, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrations.upgrade(url)
        db = Database.connect(url)
        try:
            keys, school_id, officer_id = await setup(db)
            for target in (1 * MEGABYTE, 5 * MEGABYTE):
                photo = camera_photo(target)

                async def strip(raw: bytes = photo) -> None:
                    await asyncio.to_thread(evidence.strip_image, raw)

                strip_ms = await timed(strip, runs)
                image = evidence.strip_image(photo)
                async with db.transaction() as session:
                    opened = await intake.open_case(
                        session, keys, POLICY, school_id=school_id, kind=CaseKind.REPORT,
                        intent="report_bullying", urgent=False, body={"what": "bench"},
                        notify_chat_id=None, now=NOW,
                    )  # fmt: skip
                before = await db_size(path)

                async def store(case_id: int = opened.case_id, image: evidence.StrippedImage = image) -> None:
                    async with db.transaction() as session:
                        await evidence.store_image(
                            session, case_id, image, ocr_text="", caption=None, now=NOW, notify=False
                        )

                seal_ms = await timed(store, runs)
                growth = (await db_size(path) - before) / runs

                async def open_all(case_id: int = opened.case_id) -> None:
                    async with db.transaction() as session:
                        await evidence.images_for_officer(session, keys, case_id, officer_id)

                open_ms = await timed(open_all, 3) / runs  # per image: every image of the case is opened
                rows.append(
                    {
                        "target": target / MEGABYTE,
                        "size": len(image.data) / MEGABYTE,
                        "pixels": image.width * image.height / 1e6,
                        "strip": strip_ms,
                        "seal": seal_ms,
                        "open": open_ms,
                        "growth": growth / MEGABYTE,
                    }
                )
        finally:
            await db.close()
    return rows


async def measure_ocr(runs: int) -> list[dict[str, float]]:
    rows = []
    for lines in (2, 8, 24):
        shot = evidence.strip_image(chat_screenshot(lines))

        async def read(data: bytes = shot.data) -> None:
            await read_text(data)

        rows.append({"lines": lines, "height": shot.height, "ms": await timed(read, runs)})
    return rows


def section(images: list[dict[str, float]], ocr: list[dict[str, float]], runs: int) -> str:
    load = os.getloadavg()[0]
    lines = [
        f"Measured by `make bench-evidence` (`python -m devtools.bench.evidence`) on "
        f"{datetime.now(UTC):%Y-%m-%d}, at {git_revision()} on {machine()}; load average {load:.1f} "
        "(the machine is shared: figures are medians of "
        f"{runs} runs).",
        "",
        "One image per case message: a fresh content key wrapped for 3 officers and the student, the "
        "image sealed apart from its description, padded to 16 KiB; SQLite in WAL mode, one "
        "transaction per image. Stripping is decoding a camera JPEG (EXIF, orientation 6), turning "
        "it upright and re-encoding its pixels alone.",
        "",
        "| image (re-encoded) | megapixels | strip | seal + store | open (officer) | database growth |",
        "|---|---|---|---|---|---|",
    ]
    for row in images:
        lines.append(
            f"| {row['size']:.2f} MB JPEG | {row['pixels']:.1f} | {row['strip']:.0f} ms | "
            f"{row['seal']:.0f} ms | {row['open']:.0f} ms | {row['growth']:.2f} MB |"
        )
    lines += [
        "",
        "Tesseract 5 (`tesseract stdin stdout -l eng+fra`, one thread, image on stdin) per chat "
        "screenshot 1080 px wide (DejaVu Sans 40 px):",
        "",
        "| lines of text | height | OCR time |",
        "|---|---|---|",
    ]
    lines += [f"| {int(r['lines'])} | {int(r['height'])} px | {r['ms']:.0f} ms |" for r in ocr]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md")
    args = parser.parse_args()
    images = await measure_images(args.runs)
    ocr = await measure_ocr(args.runs)
    body = section(images, ocr, args.runs)
    print(body)  # noqa: T201 - a command-line tool's output
    if not args.no_write:
        write_section("Evidence images", body)


if __name__ == "__main__":
    asyncio.run(main())
