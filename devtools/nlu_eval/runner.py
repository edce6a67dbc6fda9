"""Train and predict with one Rasa pipeline, in-process. Runs INSIDE Rasa's venv.

    nlu/.venv/bin/python -m devtools.nlu_eval.runner JOB.json

The job names a pipeline config and a list of runs (training files, test
files, seed, output path). One process per pipeline: Rasa and TensorFlow are
imported once, not once per fold. Driven by `devtools.nlu_eval.evaluate` (application venv),
which builds the folds and scores the predictions.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml


def _config_with_seed(config_path: str, seed: int, directory: Path) -> str:
    """Copy the config with `random_seed` set on every component that takes one."""
    config = yaml.safe_load(Path(config_path).read_text())
    for component in config.get("pipeline", []):
        name = component.get("name", "")
        if name in ("DIETClassifier", "ResponseSelector", "TEDPolicy"):
            component["random_seed"] = seed
        if name.endswith("TfidfIntentClassifier") or name == "LogisticRegressionClassifier":
            component["random_state"] = seed
    out = directory / f"config-seed{seed}.yml"
    out.write_text(yaml.safe_dump(config))
    return str(out)


async def _predict(model_path: str, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    results = []
    for text in texts:
        parsed = await agent.parse_message(text)
        results.append(
            {
                "intent": (parsed.get("intent") or {}).get("name"),
                "confidence": (parsed.get("intent") or {}).get("confidence"),
                "ranking": [(r["name"], r["confidence"]) for r in parsed.get("intent_ranking") or []][:5],
                "entities": [
                    {"entity": e["entity"], "value": e.get("value"), "start": e["start"], "end": e["end"]}
                    for e in parsed.get("entities") or []
                ],
            }
        )
    return results


def quiet_rasa() -> None:
    """WARNING and above only: Rasa's DEBUG lines quote every parsed text."""
    import logging

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    quiet_rasa()
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.loading import load_data

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for run in job["runs"]:
            config = _config_with_seed(job["config"], run["seed"], work)
            started = time.monotonic()
            model = train_nlu(config, run["train"], str(work / "models"), fixed_model_name="eval")
            seconds = time.monotonic() - started
            if model is None:
                raise SystemExit(f"training failed for {run['output']}")
            test = load_data(run["test"])
            texts = [m.get("text") for m in test.intent_examples]
            predictions = asyncio.run(_predict(model, texts))
            truth = [
                {
                    "text": m.get("text"),
                    "intent": m.get("intent"),
                    "entities": [
                        {"entity": e["entity"], "value": e.get("value"), "start": e["start"], "end": e["end"]}
                        for e in m.get("entities") or []
                    ],
                }
                for m in test.intent_examples
            ]
            Path(run["output"]).write_text(
                json.dumps({"train_seconds": seconds, "truth": truth, "predictions": predictions})
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
