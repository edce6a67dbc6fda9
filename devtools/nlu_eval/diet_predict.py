"""One trained Rasa model's answers to a list of texts, in order. Runs INSIDE Rasa's venv.

    nlu/.venv/bin/python -m devtools.nlu_eval.diet_predict MODEL.tar.gz TEXTS.json OUT.json

Driven by devtools.nlu_eval.diet_folds for each fold's test part; the parsing is runner.py's, as
for the pipeline comparison's Rasa rows.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from devtools.nlu_eval.runner import _predict, quiet_rasa


def main() -> int:
    model, texts_path, out = sys.argv[1:4]
    texts = json.loads(Path(texts_path).read_text(encoding="utf-8"))
    quiet_rasa()  # WARNING and above: Rasa's DEBUG lines quote every parsed text
    answers = asyncio.run(_predict(model, texts))
    Path(out).write_text(json.dumps(answers), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
