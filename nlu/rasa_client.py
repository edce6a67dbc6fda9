"""HTTP client for the Rasa server's `POST /model/parse`, and nothing else of its API."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection
from typing import Any

import httpx

from nlu.result import NLU_FALLBACK, Entity, IntentScore, ModelOutput

logger = logging.getLogger(__name__)

RANKING_LENGTH = 10


class NLUUnavailable(Exception):
    """Rasa could not give a usable answer: down, slow, refused, or garbage."""


class RasaClient:
    """Asks a Rasa server what a message means.

    After a failure the server is not asked again for `retry_after` seconds,
    so that while Rasa is down every message goes straight to the fallback
    instead of each waiting out a timeout.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        known_intents: Collection[str],
        timeout: float = 3.0,
        retry_after: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._known = frozenset(known_intents) | {NLU_FALLBACK}
        self._token = token
        self._retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)),
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> RasaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def available(self) -> bool:
        return self._clock() >= self._down_until

    async def parse(self, text: str) -> ModelOutput:
        """Classify one text; raise `NLUUnavailable` on any failure."""
        if not self.available:
            raise NLUUnavailable("circuit open")
        try:
            response = await self._http.post(
                "/model/parse", params={"token": self._token}, json={"text": text}
            )
            if response.status_code != httpx.codes.OK:
                raise NLUUnavailable(f"status {response.status_code}")
            return self._read(response.json())
        except (httpx.HTTPError, ValueError, NLUUnavailable) as error:
            self._down_until = self._clock() + self._retry_after
            # Error type only: the exception text may quote the request.
            logger.warning("nlu.rasa_unavailable error=%s", type(error).__name__)
            if isinstance(error, NLUUnavailable):
                raise
            raise NLUUnavailable(type(error).__name__) from error

    def _read(self, body: Any) -> ModelOutput:
        """Validate Rasa's JSON strictly; anything unexpected counts as garbage."""
        if not isinstance(body, dict):
            raise NLUUnavailable("body is not an object")
        intent = body.get("intent")
        if not isinstance(intent, dict):
            raise NLUUnavailable("no intent")
        name = intent.get("name")
        confidence = _probability(intent.get("confidence"))
        if name is None:  # Rasa's answer for an empty text
            name, confidence = NLU_FALLBACK, 0.0
        if name not in self._known:
            raise NLUUnavailable("unknown intent")
        ranking = []
        for entry in body.get("intent_ranking") or []:
            if not isinstance(entry, dict) or entry.get("name") not in self._known:
                raise NLUUnavailable("bad ranking")
            if entry["name"] != NLU_FALLBACK:
                ranking.append(IntentScore(entry["name"], _probability(entry.get("confidence"))))
        ranking.sort(key=lambda s: -s.confidence)
        if name == NLU_FALLBACK:
            # Rasa reports the threshold as the fallback's confidence; the model's
            # own confidence in its best guess is more useful to callers.
            confidence = ranking[0].confidence if ranking else 0.0
        entities = tuple(
            _entity(e, text_length=len(body.get("text") or "")) for e in body.get("entities") or []
        )
        return ModelOutput(
            intent=name,
            confidence=confidence,
            ranking=tuple(ranking[:RANKING_LENGTH]),
            entities=_deduplicated(entities),
        )


def _probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NLUUnavailable("confidence is not a number")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0 + 1e-6:
        raise NLUUnavailable("confidence out of range")
    return min(number, 1.0)


def _entity(raw: Any, *, text_length: int) -> Entity:
    if not isinstance(raw, dict):
        raise NLUUnavailable("bad entity")
    name, value, start, end = raw.get("entity"), raw.get("value"), raw.get("start"), raw.get("end")
    if not isinstance(name, str) or not isinstance(start, int) or not isinstance(end, int):
        raise NLUUnavailable("bad entity")
    if not 0 <= start <= end <= text_length:
        raise NLUUnavailable("entity outside text")
    return Entity(entity=name, value=str(value), start=start, end=end)


def _deduplicated(entities: tuple[Entity, ...]) -> tuple[Entity, ...]:
    """Two extractors may find the same span; keep the first of each."""
    seen: set[tuple[str, int, int]] = set()
    kept = []
    for entity in entities:
        key = (entity.entity, entity.start, entity.end)
        if key not in seen:
            seen.add(key)
            kept.append(entity)
    return tuple(kept)
