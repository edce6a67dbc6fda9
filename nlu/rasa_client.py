"""HTTP client for the Rasa server's `POST /model/parse`, and nothing else of its API.

Over aiohttp: under a burst hundreds of parses are under way, and httpx's pool spent about ten
times aiohttp's CPU per request there (bot.aiohttp_request says how it was measured).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Collection, Sequence
from http import HTTPStatus
from typing import Annotated, Any

import aiohttp
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from app import tls
from nlu.result import NLU_FALLBACK, Entity, IntentScore, ModelOutput

logger = logging.getLogger(__name__)

RANKING_LENGTH = 10


def _known(name: str | None, info: ValidationInfo) -> str | None:
    """An intent name must be one the client was built with (`nlu_fallback` included)."""
    known: Collection[str] = info.context or ()  # passed by `RasaClient._read`
    if name is not None and name not in known:
        raise ValueError("unknown intent")
    return name


# A probability as Rasa writes it: a JSON number (not a string, not a boolean), finite, within
# [0, 1] give or take float rounding, which is then clipped away.
Probability = Annotated[
    float, Field(ge=0.0, le=1.0 + 1e-6, allow_inf_nan=False), AfterValidator(lambda p: min(p, 1.0))
]
KnownIntent = Annotated[str, AfterValidator(_known)]

_HIDDEN = ConfigDict(hide_input_in_errors=True)  # the input holds the student's text


class ParsedIntent(BaseModel):
    model_config = _HIDDEN

    name: Annotated[str | None, AfterValidator(_known)] = None  # None: Rasa's answer for an empty text
    confidence: Probability


class RankedIntent(BaseModel):
    model_config = _HIDDEN

    name: KnownIntent
    confidence: Probability


class RankedFallback(BaseModel):
    """The fallback's place in the ranking (`_rank_kind`): left out of it, so nothing more is read."""

    model_config = _HIDDEN


def _rank_kind(entry: Any) -> str:
    return "fallback" if isinstance(entry, dict) and entry.get("name") == NLU_FALLBACK else "intent"


Ranked = Annotated[
    Annotated[RankedIntent, Tag("intent")] | Annotated[RankedFallback, Tag("fallback")],
    Discriminator(_rank_kind),
]


class ParsedEntity(BaseModel):
    model_config = _HIDDEN

    entity: str
    value: Any = None  # shown as text; Rasa may give a number
    start: int
    end: int


class RasaParse(BaseModel):
    """What this client reads of `POST /model/parse`'s answer; everything else in it is ignored."""

    model_config = _HIDDEN

    text: str | None = None
    intent: ParsedIntent
    intent_ranking: list[Ranked] | None = None
    entities: list[ParsedEntity] | None = None

    @model_validator(mode="after")
    def _entities_inside_text(self) -> RasaParse:
        length = len(self.text or "")
        if not all(0 <= e.start <= e.end <= length for e in self.entities or ()):
            raise ValueError("entity outside text")
        return self


class NLUUnavailable(Exception):
    """Rasa could not give a usable answer: down, slow, refused, or garbage."""


def server_urls(urls: str | Sequence[str]) -> list[str]:
    """One URL, a comma-separated list (NLU_URL, NLU_URLS), or a list: each without a trailing slash."""
    items = urls.split(",") if isinstance(urls, str) else list(urls)
    found = [url.strip().rstrip("/") for url in items if url.strip()]
    if not found:
        raise ValueError("no Rasa server URL")
    return found


class _Server:
    """One Rasa server: its connections, the requests that may be under way, until when it is down."""

    def __init__(self, url: str, slots: int) -> None:
        self.parse_url = f"{url}/model/parse"
        self.slots = asyncio.Semaphore(slots)  # one per connection: aiohttp's own pool never waits
        self.down_until = 0.0


def words_only(text: str) -> str:
    """The text as words: Rasa reads a text starting with "/" as an intent name ("/greet"), not as
    words. A student's "/😭 he has a gun" would come back as an intent the client refuses, and the
    server would be left alone for `retry_after`, every student meanwhile on the fallback model."""
    stripped = text.lstrip()
    return stripped.lstrip("/") if stripped.startswith("/") else text


class RasaClient:
    """Asks a Rasa server, or one of several, what a message means.

    Several servers (Rasa scaled apart from the bot) are taken in turn. A
    server that fails is not asked again for `retry_after` seconds (a passive
    health check: its next request after that is the probe), and the message
    goes to the next server; when every server is down, every message goes
    straight to the fallback instead of each waiting out a timeout.

    A burst (hundreds of students at once) queues here for a connection, in
    order, for up to `queue_wait` seconds; past that the message goes to the
    next server, or to the fallback, and the server stays up (the wait was
    ours, not its failure). A message that waited while its server failed is
    not sent to it: left to the HTTP client's pool, every queued message went
    to a server already known to be down, each waiting out its own timeout.
    """

    def __init__(
        self,
        base_url: str | Sequence[str],
        token: str,
        *,
        known_intents: Collection[str],
        timeout: float = 3.0,
        retry_after: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        max_connections: int = 32,
        queue_wait: float = 3.0,
    ) -> None:
        self._known = frozenset(known_intents) | {NLU_FALLBACK}
        self._token = token
        self._retry_after = retry_after
        self._clock = clock
        self._turn = 0
        self._queue_wait = queue_wait
        self._servers = [_Server(url, max_connections) for url in server_urls(base_url)]
        # Each read (and the connect, at most a second) within `timeout`, as before with httpx.
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(timeout, 1.0), sock_read=timeout)
        self._connections = max_connections * len(self._servers)
        # Made on first use: an aiohttp session belongs to the event loop it is made in.
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections, limit_per_host=0, ssl=tls.client_context()
                ),
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=True,  # HTTPS_PROXY / NO_PROXY honoured, as httpx did
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None and not self._http.closed:
            await self._http.close()

    async def __aenter__(self) -> RasaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def available(self) -> bool:
        now = self._clock()
        return any(now >= server.down_until for server in self._servers)

    def _in_turn(self) -> list[_Server]:
        """The servers up now, starting with the next one in turn (round robin)."""
        now = self._clock()
        count = len(self._servers)
        start, self._turn = self._turn % count, self._turn + 1
        ordered = self._servers[start:] + self._servers[:start]
        return [server for server in ordered if now >= server.down_until]

    async def parse(self, text: str) -> ModelOutput:
        """Classify one text; raise `NLUUnavailable` when no server gives a usable answer."""
        text = words_only(text)
        servers = self._in_turn()
        if not servers:
            raise NLUUnavailable("circuit open")
        failure: NLUUnavailable | None = None
        for server in servers:
            try:
                return await self._parse_on(server, text)
            except NLUUnavailable as error:
                failure = error
        assert failure is not None
        raise failure

    async def _parse_on(self, server: _Server, text: str) -> ModelOutput:
        try:
            async with asyncio.timeout(self._queue_wait):
                await server.slots.acquire()
        except TimeoutError:
            logger.info("nlu.rasa_busy")  # our queue, not the server: it stays up
            raise NLUUnavailable("busy") from None
        try:
            if self._clock() < server.down_until:
                raise NLUUnavailable("circuit open")  # it failed another request while this one waited
            return await self._request(server, text)
        finally:
            server.slots.release()

    async def _request(self, server: _Server, text: str) -> ModelOutput:
        try:
            # No redirects followed (as with httpx): a student's text goes to the configured server only.
            async with self._session().post(
                server.parse_url, params={"token": self._token}, json={"text": text}, allow_redirects=False
            ) as response:
                if response.status != HTTPStatus.OK:
                    raise NLUUnavailable(f"status {response.status}")
                body = json.loads(await response.read())
            return self._read(body)
        except (aiohttp.ClientError, TimeoutError, ValueError, NLUUnavailable) as error:
            server.down_until = self._clock() + self._retry_after
            # Error type only: the exception text may quote the request.
            logger.warning("nlu.rasa_unavailable error=%s", type(error).__name__)
            if isinstance(error, NLUUnavailable):
                raise
            raise NLUUnavailable(type(error).__name__) from error

    def _read(self, body: Any) -> ModelOutput:
        """Validate Rasa's JSON strictly (`RasaParse`); anything unexpected counts as garbage."""
        try:
            parsed: RasaParse | None = RasaParse.model_validate(body, strict=True, context=self._known)
        except ValidationError:
            parsed = None
        if parsed is None:
            # Raised outside the handler, so nothing chains to it: a validation error keeps the
            # input (`errors()`), and the input holds a student's text.
            raise NLUUnavailable("malformed answer")
        name, confidence = parsed.intent.name, parsed.intent.confidence
        if name is None:  # Rasa's answer for an empty text
            name, confidence = NLU_FALLBACK, 0.0
        ranking = sorted(
            (
                IntentScore(r.name, r.confidence)
                for r in parsed.intent_ranking or ()
                if isinstance(r, RankedIntent)
            ),
            key=lambda s: -s.confidence,
        )
        if name == NLU_FALLBACK:
            # Rasa reports the threshold as the fallback's confidence; the model's
            # own confidence in its best guess is more useful to callers.
            confidence = ranking[0].confidence if ranking else 0.0
        entities = tuple(
            Entity(entity=e.entity, value=str(e.value), start=e.start, end=e.end)
            for e in parsed.entities or ()
        )
        return ModelOutput(
            intent=name,
            confidence=confidence,
            ranking=tuple(ranking[:RANKING_LENGTH]),
            entities=_deduplicated(entities),
        )


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
