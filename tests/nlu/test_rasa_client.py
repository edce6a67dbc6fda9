"""The Rasa client against a fake Rasa server over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from pydantic import ValidationError

from nlu import taxonomy
from nlu.rasa_client import NLUUnavailable, RasaClient, RasaParse
from tests.conftest import free_port

TOKEN = "right-token"


def rasa_body(text: str, intent: str = "report_weapon", confidence: float = 0.91) -> dict[str, Any]:
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": [
            {"entity": "weapon", "start": 0, "end": 5, "value": "knife", "extractor": "CRFEntityExtractor"},
            {"entity": "weapon", "start": 0, "end": 5, "value": "knife", "extractor": "RegexEntityExtractor"},
        ],
        "intent_ranking": [
            {"name": intent, "confidence": confidence},
            {"name": "report_threat", "confidence": 0.05},
        ],
    }


def _spoiled(body: dict[str, Any], **intent: object) -> dict[str, Any]:
    """The good answer with its intent's fields replaced."""
    answer = rasa_body(body["text"])
    return {**answer, "intent": {**answer["intent"], **intent}}


@dataclass
class FakeRasa:
    """Answers /model/parse the way it is told to; records what it was sent."""

    behaviour: Callable[[dict[str, Any]], web.StreamResponse] | None = None
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[str | None] = field(default_factory=list)

    async def parse(self, request: web.Request) -> web.StreamResponse:
        self.tokens.append(request.query.get("token"))
        if request.query.get("token") != TOKEN:
            return web.json_response({"message": "User is not authenticated."}, status=401)
        body = await request.json()
        self.requests.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.behaviour:
            return self.behaviour(body)
        return web.json_response(rasa_body(body["text"]))


@pytest.fixture
async def fake_rasa() -> AsyncIterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    app = web.Application()
    app.router.add_post("/model/parse", fake.parse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def client(url: str, token: str = TOKEN, timeout: float = 2.0) -> RasaClient:
    return RasaClient(url, token, known_intents=taxonomy.intent_names(), timeout=timeout, retry_after=30)


async def test_parses_a_good_answer(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    async with client(url) as rasa:
        output = await rasa.parse("knife in his bag")
    assert fake.requests == [{"text": "knife in his bag"}]
    assert output.intent == "report_weapon"
    assert output.confidence == pytest.approx(0.91)
    assert [s.name for s in output.ranking] == ["report_weapon", "report_threat"]
    # Two extractors found the same span: reported once.
    assert [(e.entity, e.value, e.start, e.end) for e in output.entities] == [("weapon", "knife", 0, 5)]


async def test_fallback_intent_keeps_the_models_best_guess(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa

    def below_threshold(body: dict[str, Any]) -> web.Response:
        answer = {**rasa_body(body["text"], "nlu_fallback", 0.3), "entities": []}
        answer["intent_ranking"] = [
            {"name": "nlu_fallback", "confidence": 0.3},
            {"name": "report_fight", "confidence": 0.22},
            {"name": "report_bullying", "confidence": 0.2},
        ]
        return web.json_response(answer)

    fake.behaviour = below_threshold
    async with client(url) as rasa:
        output = await rasa.parse("hmm")
    assert output.intent == "nlu_fallback"
    assert output.confidence == pytest.approx(0.22)
    assert [s.name for s in output.ranking] == ["report_fight", "report_bullying"]


@pytest.mark.parametrize(
    "make_response",
    [
        pytest.param(lambda body: web.Response(status=500, text="boom"), id="500"),
        pytest.param(
            lambda body: web.Response(text="{not json", content_type="application/json"), id="malformed-json"
        ),
        pytest.param(lambda body: web.json_response([1, 2, 3]), id="not-an-object"),
        pytest.param(lambda body: web.json_response({"text": body["text"]}), id="no-intent"),
        pytest.param(
            lambda body: web.json_response(rasa_body(body["text"], "order_pizza")), id="unknown-intent"
        ),
        pytest.param(
            lambda body: web.json_response(rasa_body(body["text"], confidence=7.0)),
            id="confidence-out-of-range",
        ),
        pytest.param(
            lambda body: web.json_response(
                {**rasa_body(body["text"]), "entities": [{"entity": "weapon", "start": 0}]}
            ),
            id="broken-entity",
        ),
        pytest.param(
            lambda body: web.json_response(_spoiled(body, confidence="0.9")), id="confidence-a-string"
        ),
        pytest.param(
            lambda body: web.json_response(_spoiled(body, confidence=True)), id="confidence-a-boolean"
        ),
        pytest.param(
            lambda body: web.Response(
                text='{"intent": {"name": "greet", "confidence": NaN}}', content_type="application/json"
            ),
            id="confidence-nan",
        ),
        pytest.param(
            lambda body: web.json_response(
                {**rasa_body(body["text"]), "intent_ranking": [{"name": "order_pizza", "confidence": 0.1}]}
            ),
            id="unknown-intent-in-ranking",
        ),
        pytest.param(
            lambda body: web.json_response({**rasa_body(body["text"]), "intent_ranking": 5}),
            id="ranking-not-a-list",
        ),
        pytest.param(
            lambda body: web.json_response({**rasa_body(body["text"]), "text": "kni"}),
            id="entity-outside-text",
        ),
    ],
)
async def test_garbage_raises_unavailable(
    fake_rasa: tuple[FakeRasa, str], make_response: Callable[[dict[str, Any]], web.Response]
) -> None:
    fake, url = fake_rasa
    fake.behaviour = make_response
    async with client(url) as rasa:
        with pytest.raises(NLUUnavailable):
            await rasa.parse("anything")


async def test_the_empty_text_answer_is_the_fallback(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.behaviour = lambda body: web.json_response(
        {"text": "", "intent": {"name": None, "confidence": 0.0}, "entities": [], "intent_ranking": []}
    )
    async with client(url) as rasa:
        output = await rasa.parse("")
    assert (output.intent, output.confidence, output.ranking, output.entities) == (
        "nlu_fallback",
        0.0,
        (),
        (),
    )


async def test_a_malformed_answer_opens_the_circuit_and_carries_no_text(
    fake_rasa: tuple[FakeRasa, str],
) -> None:
    fake, url = fake_rasa
    secret = "my uncle hits me"
    fake.behaviour = lambda body: web.json_response(
        {
            **rasa_body(body["text"]),
            "entities": [{"entity": "who", "start": 0, "end": 99, "value": body["text"]}],
        }
    )
    async with client(url) as rasa:
        with pytest.raises(NLUUnavailable) as raised:
            await rasa.parse(secret)
        assert not rasa.available
    error: BaseException | None = raised.value
    chain = []
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert len(chain) == 1
    assert secret not in f"{chain[0]!s} {chain[0]!r}"
    # Control: what pydantic says of that answer keeps the text, so a chained error would carry it.
    answer = {**rasa_body(secret), "entities": [{"entity": "who", "start": 0, "end": 99, "value": secret}]}
    with pytest.raises(ValidationError) as validation:
        RasaParse.model_validate(answer, strict=True, context=taxonomy.intent_names())
    assert secret in repr(validation.value.errors())


async def test_wrong_token_is_unavailable_and_token_is_sent(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    async with client(url, token="wrong") as rasa:
        with pytest.raises(NLUUnavailable, match="401"):
            await rasa.parse("hi")
    assert fake.tokens == ["wrong"]


async def test_slow_server_times_out(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.delay = 2.0
    async with client(url, timeout=0.2) as rasa:
        started = asyncio.get_running_loop().time()
        with pytest.raises(NLUUnavailable):
            await rasa.parse("hi")
        assert asyncio.get_running_loop().time() - started < 1.5


async def test_after_a_failure_the_server_is_left_alone_for_a_while(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.behaviour = lambda body: web.Response(status=503)
    now = [1000.0]
    async with RasaClient(
        url, TOKEN, known_intents=taxonomy.intent_names(), retry_after=15, clock=lambda: now[0]
    ) as rasa:
        with pytest.raises(NLUUnavailable):
            await rasa.parse("one")
        assert not rasa.available
        with pytest.raises(NLUUnavailable, match="circuit open"):
            await rasa.parse("two")
        assert len(fake.requests) == 1  # the second message never reached the server
        now[0] += 16
        fake.behaviour = None
        assert (await rasa.parse("three")).intent == "report_weapon"


async def test_unreachable_server_is_unavailable() -> None:
    async with client(f"http://127.0.0.1:{free_port()}") as rasa:
        with pytest.raises(NLUUnavailable):
            await rasa.parse("hi")


async def test_a_redirect_is_not_followed(fake_rasa: tuple[FakeRasa, str]) -> None:
    """A student's text goes to the configured address only: a redirect is a failure, not a hop."""
    fake, url = fake_rasa
    fake.behaviour = lambda _body: web.Response(
        status=307, headers={"Location": f"{url}/model/parse?token={TOKEN}"}
    )
    async with client(url) as rasa:
        with pytest.raises(NLUUnavailable, match="status 307"):
            await rasa.parse("knife in his bag")
    assert len(fake.requests) == 1  # followed, the same text would have been posted again
