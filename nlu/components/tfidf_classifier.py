"""A Rasa 3.6 intent classifier: word + character TF-IDF into logistic regression.

Runs inside Rasa's venv. It reads the raw message text and builds its own
features (`nlu.features`), so it needs no Rasa featurizer before it; the
fallback classifier in the application uses the very same model definition.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.features import DEFAULTS, build_intent_model

logger = logging.getLogger(__name__)

_MODEL_FILE = "intent_model.joblib"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TfidfIntentClassifier(IntentClassifier, GraphComponent):
    """Intent classifier on word and character TF-IDF features."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # blend_with_previous: weight given to the ranking an earlier intent
        # classifier (e.g. DIET) left on the message; 0 ignores it.
        return {**DEFAULTS, "ranking_length": 10, "blend_with_previous": 0.0}

    @staticmethod
    def required_packages() -> List[str]:
        return ["sklearn", "joblib"]

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[Any] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TfidfIntentClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        texts = [e.get(TEXT) for e in examples]
        # An array, not a list: scikit-learn 1.1's CalibratedClassifierCV (the svm variant) counts
        # each class with `y == label`, which is always False for a list.
        labels = np.asarray([e.get(INTENT) for e in examples])
        options = {k: self.config[k] for k in DEFAULTS}
        self.model = build_intent_model(options).fit(texts, labels)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self.model, directory / _MODEL_FILE)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "TfidfIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                # Our own file, written by train() into the model archive.
                model = joblib.load(directory / _MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("intent model missing from archive; component untrained")
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None or not messages:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        probabilities = self.model.predict_proba(texts)
        classes = list(self.model.classes_)
        weight = float(self.config["blend_with_previous"])
        for message, row in zip(messages, probabilities):
            scores = {c: float(p) for c, p in zip(classes, row)}
            previous = message.get("intent_ranking") or []
            if weight > 0 and previous:
                earlier = {r["name"]: float(r["confidence"]) for r in previous}
                scores = {c: (1 - weight) * p + weight * earlier.get(c, 0.0) for c, p in scores.items()}
            ranking = sorted(
                ({"name": c, "confidence": p} for c, p in scores.items()),
                key=lambda r: -r["confidence"],
            )
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[: self.config["ranking_length"]], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
