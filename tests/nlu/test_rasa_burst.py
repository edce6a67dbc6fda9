"""A burst of students at once: the client queues for Rasa's connections, and the queue is bounded.

Hundreds of messages at once wait in the client's own queue, in order. A message that waits longer
than `queue_wait` goes to the fallback without marking a healthy server down, and messages queued
behind a request that failed are not sent to that server (left to httpx's pool, each was sent to
it and waited out its own timeout: with a hung server, seconds each before the safety information).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from nlu import taxonomy
from nlu.rasa_client import NLUUnavailable, RasaClient
from tests.nlu.test_rasa_client import TOKEN, FakeRasa
from tests.nlu.test_rasa_servers import serve

BURST = 12
CONNECTIONS = 2


class SlowRasa(FakeRasa):
    """Answers after a moment, counting how many requests it holds at once."""

    def __init__(self) -> None:
        super().__init__(delay=0.1)
        self.at_once = 0
        self.most_at_once = 0

    async def parse(self, request: web.Request) -> web.StreamResponse:
        self.at_once += 1
        self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            return await super().parse(request)
        finally:
            self.at_once -= 1


@pytest.fixture
async def slow_rasa() -> AsyncIterator[tuple[SlowRasa, str]]:
    fake = SlowRasa()
    runner, url = await serve(fake)
    yield fake, url
    await runner.cleanup()


async def _burst(rasa: RasaClient) -> list[str]:
    async def one(number: int) -> str:
        try:
            return (await rasa.parse(f"a kid has a knife, locker {number}")).intent
        except NLUUnavailable as error:
            return f"unavailable: {error}"

    return await asyncio.gather(*(one(n) for n in range(BURST)))


async def test_a_burst_longer_than_the_timeout_is_answered_by_rasa_in_turn(
    slow_rasa: tuple[SlowRasa, str],
) -> None:
    fake, url = slow_rasa
    # The burst takes BURST / CONNECTIONS x 0.1 s = 0.6 s, twice the request timeout: the time
    # spent in the queue does not count against it.
    async with RasaClient(
        url, TOKEN, known_intents=taxonomy.intent_names(), timeout=0.3, max_connections=CONNECTIONS
    ) as rasa:
        answers = await _burst(rasa)
        assert rasa.available
    assert answers == ["report_weapon"] * BURST
    assert len(fake.requests) == BURST
    assert fake.most_at_once <= CONNECTIONS


async def test_a_message_that_waits_too_long_goes_to_the_fallback_and_the_server_stays_up(
    slow_rasa: tuple[SlowRasa, str],
) -> None:
    fake, url = slow_rasa
    async with RasaClient(
        url,
        TOKEN,
        known_intents=taxonomy.intent_names(),
        max_connections=CONNECTIONS,
        queue_wait=0.15,
    ) as rasa:
        answers = await _burst(rasa)
        # Control: the queue was really there (some waited past queue_wait and were told so).
        assert "unavailable: busy" in answers
        assert "report_weapon" in answers
        # The server was never at fault: it stays up, and the next message goes to it.
        assert rasa.available
        before = len(fake.requests)
        assert (await rasa.parse("someone has a gun")).intent == "report_weapon"
    assert len(fake.requests) == before + 1


async def test_a_server_that_fails_while_others_wait_is_not_sent_their_messages(
    slow_rasa: tuple[SlowRasa, str],
) -> None:
    fake, url = slow_rasa
    fake.behaviour = lambda body: web.Response(status=503)
    async with RasaClient(
        url, TOKEN, known_intents=taxonomy.intent_names(), max_connections=1, retry_after=60
    ) as rasa:
        answers = await _burst(rasa)
        assert not rasa.available
    # The first request failed and marked the server down; the queued ones did not go to it.
    assert len(fake.requests) == 1
    assert answers.count("unavailable: status 503") == 1
    assert answers.count("unavailable: circuit open") == BURST - 1
