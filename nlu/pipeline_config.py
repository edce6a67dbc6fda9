"""What the application reads from the Rasa pipeline (`config.yml`): the fallback thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from app.settings import PROJECT_ROOT
from nlu.result import IntentScore

CONFIG_PATH = PROJECT_ROOT / "config.yml"


@dataclass(frozen=True, slots=True)
class FallbackThresholds:
    """Rasa's FallbackClassifier rule, so that both classifiers say `nlu_fallback` alike."""

    threshold: float = 0.3
    ambiguity_threshold: float = 0.1

    def accepts(self, ranking: Sequence[IntentScore]) -> bool:
        if not ranking or ranking[0].confidence < self.threshold:
            return False
        return len(ranking) < 2 or ranking[0].confidence - ranking[1].confidence >= self.ambiguity_threshold


def read_thresholds(path: Path = CONFIG_PATH) -> FallbackThresholds:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    for component in config.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return FallbackThresholds(
                threshold=float(component.get("threshold", 0.3)),
                ambiguity_threshold=float(component.get("ambiguity_threshold", 0.1)),
            )
    return FallbackThresholds()
