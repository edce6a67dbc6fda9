"""Start the Rasa server with its token passed in-process, never on a command line.

`rasa run` takes its token only as `--auth-token`, and a process's arguments
are readable by every user of the machine (`ps`, /proc/PID/cmdline). So
scripts/nlu-server runs this module in Rasa's own venv (Python 3.10), which
reads the token from NLU_TOKEN (or var/nlu-token) and hands Rasa its
arguments inside the process: `ps` shows `python -m nlu.serve` only.
Runs inside Rasa's venv: standard library and Rasa only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def token() -> str:
    value = os.environ.pop("NLU_TOKEN", "").strip()  # not left for Rasa's children either
    if not value:
        try:
            value = (ROOT / "var" / "nlu-token").read_text(encoding="ascii").strip()
        except OSError:
            value = ""
    if not value:
        sys.exit("error: no NLU_TOKEN and no var/nlu-token; run 'make setup'")
    return value


def main() -> None:
    model = Path(os.environ.get("NLU_MODEL", ROOT / "models" / "sro-nlu.tar.gz"))
    if not model.is_file():
        sys.exit(f"error: no trained model at {model}; run 'make setup'")
    secret = token()
    sys.argv = [
        "rasa",
        "run",
        "--enable-api",
        "--interface",
        os.environ.get("NLU_HOST", "127.0.0.1"),
        "--port",
        os.environ.get("NLU_PORT", "5005"),
        f"--auth-token={secret}",  # one argument: a token may begin with "-", which argparse would misread
        "--credentials",
        str(ROOT / "nlu" / "credentials.yml"),
        "--model",
        str(model),
        "--log-file",
        os.devnull,
    ]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
