"""docs/dashboard.md shows a screenshot of every dashboard page, and each one exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from tests.web.test_browser import PAGES

DOC = ROOT / "docs" / "dashboard.md"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_every_page_has_its_screenshot_in_the_doc() -> None:
    referenced = re.findall(r"!\[[^\]]*\]\((dashboard/[a-z]+\.png)\)", DOC.read_text(encoding="utf-8"))
    assert sorted(referenced) == sorted(f"dashboard/{name}.png" for name in PAGES)
    for name in referenced:
        image = DOC.parent / name
        assert image.is_file(), f"{image} is missing: run make dashboard-shots"
        assert image.read_bytes()[:8] == PNG_SIGNATURE
        assert image.stat().st_size > 10_000  # a page, not an empty image
