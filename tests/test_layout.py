"""The layout's promises: the wheel ships the product only; lower layers never import upper ones."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from app.settings import PROJECT_ROOT

PRODUCT = {"app", "bot", "nlu", "storage", "casework", "admin", "web"}
NOT_SOURCES = (".git", ".venv", "var", "models", "build", "dist", "*.egg-info", "*_cache", ".hypothesis")
RUNTIME_DATA = {
    "bot/locales/en.yml",
    "nlu/labels.yml",
    "nlu/domain.yml",
    "nlu/lexicon/en.yml",
    "storage/alembic.ini",
    "storage/alembic/script.py.mako",
    "storage/alembic/env.py",
}


def test_the_wheel_holds_the_product_and_no_tool(tmp_path: Path) -> None:
    # Built from a copy of the sources: a build/ left in the checkout could add stale files.
    source = tmp_path / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        tops = {name.split("/")[0] for name in archive.namelist() if "/" in name and ".dist-info" not in name}
    assert tops == PRODUCT  # every product package, and neither devtools/ nor tests/
    # What the product reads at run time besides its code travels with it.
    assert not RUNTIME_DATA - names, sorted(RUNTIME_DATA - names)


# The layers below the application: they must not reach up into app/ (settings, logging) or the tools.
LOWER_LAYERS = ("casework", "storage")
FORBIDDEN_ROOTS = {"app", "devtools"}


def upward_imports(source: str) -> list[str]:
    """The modules of `app` or `devtools` a source imports, wherever the import statement stands."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [name for name in names if name.split(".")[0] in FORBIDDEN_ROOTS]
    return found


def test_casework_and_storage_import_nothing_from_app_or_the_tools() -> None:
    # Positive control: the checker sees an import at the top, inside a function, and `import x.y`.
    synthetic = "import os\nfrom app.settings import Settings\ndef f():\n    import devtools.demo\n"
    assert upward_imports(synthetic) == ["app.settings", "devtools.demo"]
    modules = [path for layer in LOWER_LAYERS for path in sorted((PROJECT_ROOT / layer).rglob("*.py"))]
    assert len(modules) > 50  # the walk found the packages (and their alembic env and migrations)
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): imported
        for path in modules
        if (imported := upward_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
