"""Train what is stale, and only that: the Rasa model and the fallback classifier.

    .venv/bin/python -m nlu.train [--force]

The Rasa model is retrained when `config.yml`, `nlu/data/` or the custom
components changed since the last training (a fingerprint of their contents
is kept beside the model, so a fresh clone's file times do not matter).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from app.logs import configure_logging
from app.settings import MODELS_DIR, PROJECT_ROOT, VAR_DIR
from nlu.fallback import FallbackModel

logger = logging.getLogger("nlu.train")

RASA_VENV = PROJECT_ROOT / "nlu" / ".venv"
RASA_BIN = RASA_VENV / "bin" / "rasa"
MODEL_NAME = "sro-nlu"
MODEL_PATH = MODELS_DIR / f"{MODEL_NAME}.tar.gz"
FINGERPRINT_PATH = MODELS_DIR / f"{MODEL_NAME}.inputs"


def rasa_inputs() -> list[Path]:
    """Every file whose content shapes the Rasa model."""
    nlu = PROJECT_ROOT / "nlu"
    return sorted(
        [
            PROJECT_ROOT / "config.yml",
            nlu / "textprep.py",
            nlu / "features.py",
            nlu / "requirements.lock",
            *(nlu / "data").glob("*.yml"),
            *(nlu / "components").glob("*.py"),
        ]
    )


def inputs_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in rasa_inputs():
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def rasa_environment() -> dict[str, str]:
    """Rasa's process environment: our components importable, nothing phoned home."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        RASA_CACHE_DIRECTORY=str(VAR_DIR / "rasa-cache"),
        PYTHONHASHSEED="0",
        TF_ENABLE_ONEDNN_OPTS="0",
        PYTHONWARNINGS="ignore",
    )
    return env


def train_rasa(config: Path, data: Path, out: Path, name: str) -> Path:
    """Run `rasa train nlu`; return the model's path."""
    out.mkdir(parents=True, exist_ok=True)
    command = [
        str(RASA_BIN), "train", "nlu",
        "--config", str(config), "--nlu", str(data),
        "--out", str(out), "--fixed-model-name", name, "--quiet",
    ]  # fmt: skip
    # Rasa and TensorFlow print pages of deprecation warnings: keep them in a log, show them on failure.
    log = VAR_DIR / "rasa-train.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        result = subprocess.run(  # noqa: S603
            command,
            cwd=PROJECT_ROOT,
            env=rasa_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        raise subprocess.CalledProcessError(result.returncode, command)
    return out / f"{name}.tar.gz"


def ensure_rasa_model(force: bool = False) -> bool:
    """Train the Rasa model if its inputs changed; True when it trained."""
    fingerprint = inputs_fingerprint()
    current = FINGERPRINT_PATH.read_text().strip() if FINGERPRINT_PATH.exists() else ""
    if not force and MODEL_PATH.exists() and current == fingerprint:
        logger.info("nlu.train_skipped reason=unchanged")
        return False
    started = time.monotonic()
    train_rasa(PROJECT_ROOT / "config.yml", PROJECT_ROOT / "nlu" / "data", MODELS_DIR, MODEL_NAME)
    FINGERPRINT_PATH.write_text(fingerprint + "\n")
    logger.info("nlu.trained seconds=%.0f", time.monotonic() - started)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--force", action="store_true", help="retrain even if nothing changed")
    parser.add_argument("--fallback-only", action="store_true", help="train only the fallback classifier")
    args = parser.parse_args()
    configure_logging()
    if not args.fallback_only:
        if not RASA_BIN.exists():
            print("error: Rasa's venv is missing; run 'make setup'", file=sys.stderr)  # noqa: T201
            return 1
        try:
            ensure_rasa_model(force=args.force)
        except subprocess.CalledProcessError as error:
            print(f"error: rasa train failed with exit code {error.returncode}", file=sys.stderr)  # noqa: T201
            return 1
    FallbackModel.load_or_train()
    return 0


if __name__ == "__main__":
    sys.exit(main())
