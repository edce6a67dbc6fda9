"""The layout's promises: the wheel ships the product only, never the tools around it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from app.settings import PROJECT_ROOT

PRODUCT = {"app", "bot", "nlu", "storage", "casework", "admin"}


def test_the_wheel_holds_the_product_and_no_tool(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(PROJECT_ROOT)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist() if "/" in name and ".dist-info" not in name}
    assert tops == PRODUCT  # every product package, and neither devtools/ nor tests/
