"""The classifier that answers when the Rasa server cannot.

The same model definition as the Rasa pipeline's intent classifier
(`nlu.features`), trained in the application's venv from the same
`nlu/data/`, plus lookup-table entities. Trained at set-up (`python -m
nlu.train`) and cached under `models/`; retrained in a few seconds if the
cache is missing or its inputs changed.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import sklearn

from app.settings import MODELS_DIR
from nlu import features, textprep
from nlu.lexicon_entities import LookupEntityExtractor
from nlu.pipeline_config import FallbackThresholds, read_thresholds
from nlu.rasa_client import RANKING_LENGTH
from nlu.result import MAX_CHARS, NLU_FALLBACK, IntentScore, ModelOutput
from nlu.training_data import DATA_DIR, NLUData, load_dir

logger = logging.getLogger(__name__)

MODEL_PATH = MODELS_DIR / "fallback.joblib"


def fingerprint(data_dir: Path = DATA_DIR) -> str:
    """Changes whenever the data or the model's code changes."""
    digest = hashlib.sha256(sklearn.__version__.encode())
    sources = [Path(features.__file__), Path(textprep.__file__), Path(__file__)]
    for path in sorted(data_dir.glob("*.yml")) + sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(slots=True)
class FallbackModel:
    pipeline: Any
    entities: LookupEntityExtractor
    thresholds: FallbackThresholds

    @classmethod
    def train(cls, data: NLUData, thresholds: FallbackThresholds | None = None) -> FallbackModel:
        pipeline = features.build_intent_model().fit(
            [e.text for e in data.examples], [e.intent for e in data.examples]
        )
        return cls(pipeline, LookupEntityExtractor(data), thresholds or read_thresholds())

    @classmethod
    def load_or_train(cls, path: Path = MODEL_PATH, data_dir: Path = DATA_DIR) -> FallbackModel:
        """The cached model if it matches the current data, else a freshly trained one."""
        expected = fingerprint(data_dir)
        try:
            # Our own file, written below by this module into models/.
            cached = joblib.load(path)
            if cached.get("fingerprint") == expected:
                return cls(cached["pipeline"], cached["entities"], read_thresholds())
        except (OSError, EOFError, ValueError, KeyError, AttributeError, ImportError):
            pass
        logger.info("nlu.fallback_training")
        model = cls.train(load_dir(data_dir))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        joblib.dump({"fingerprint": expected, "pipeline": model.pipeline, "entities": model.entities}, tmp)
        tmp.replace(path)
        return model

    def predict(self, text: str) -> ModelOutput:
        entities = self.entities.extract(text)
        if not textprep.normalize(text):
            return ModelOutput(NLU_FALLBACK, 0.0, (), entities)
        probabilities = self.pipeline.predict_proba([text[:MAX_CHARS]])[0]
        ranking = sorted(
            (
                IntentScore(str(c), float(p))
                for c, p in zip(self.pipeline.classes_, probabilities, strict=True)
            ),
            key=lambda s: -s.confidence,
        )[:RANKING_LENGTH]
        top = ranking[0]
        intent = top.name if self.thresholds.accepts(ranking) else NLU_FALLBACK
        return ModelOutput(intent, top.confidence, tuple(ranking), entities)
