"""Scoring a classifier on the held-out split (shared by tests and `make nlu-eval`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import accuracy_score, f1_score

from nlu.taxonomy import urgent_intents
from nlu.training_data import Example, load

HELDOUT = Path(__file__).with_name("heldout.yml")
HELDOUT_FR = Path(__file__).with_name("heldout_fr.yml")


def heldout() -> list[Example]:
    return load([HELDOUT]).examples


def heldout_fr() -> list[Example]:
    return load([HELDOUT_FR]).examples


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    urgent_recall: float
    false_urgent_rate: float


def score(examples: Sequence[Example], intents: Sequence[str], urgent: Sequence[bool]) -> Scores:
    truth = [e.intent for e in examples]
    is_urgent = urgent_intents()
    urgent_idx = [i for i, e in enumerate(examples) if e.intent in is_urgent]
    other_idx = [i for i, e in enumerate(examples) if e.intent not in is_urgent]
    return Scores(
        accuracy=float(accuracy_score(truth, intents)),
        macro_f1=float(f1_score(truth, intents, average="macro", labels=sorted(set(truth)))),
        urgent_recall=sum(urgent[i] for i in urgent_idx) / len(urgent_idx),
        false_urgent_rate=sum(urgent[i] for i in other_idx) / len(other_idx),
    )
