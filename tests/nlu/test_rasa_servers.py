"""Several Rasa servers behind the client: taken in turn, a failing one skipped until its retry time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from nlu import taxonomy
from nlu.rasa_client import NLUUnavailable, RasaClient, server_urls
from tests.nlu.test_rasa_client import TOKEN, FakeRasa


async def serve(fake: FakeRasa) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/model/parse", fake.parse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def two_servers() -> AsyncIterator[tuple[list[FakeRasa], str]]:
    fakes = [FakeRasa(), FakeRasa()]
    served = [await serve(fake) for fake in fakes]
    yield fakes, ", ".join(url + "/" for _, url in served)  # NLU_URL's comma-separated form
    for runner, _ in served:
        await runner.cleanup()


def test_urls_are_read_from_one_a_list_or_a_comma_separated_setting() -> None:
    assert server_urls("http://a:5005/") == ["http://a:5005"]
    assert server_urls("http://a:5005, http://b:5005/,") == ["http://a:5005", "http://b:5005"]
    assert server_urls(["http://a:5005"]) == ["http://a:5005"]
    with pytest.raises(ValueError, match="no Rasa server"):
        server_urls(" , ")


async def test_servers_are_taken_in_turn(two_servers: tuple[list[FakeRasa], str]) -> None:
    fakes, urls = two_servers
    async with RasaClient(urls, TOKEN, known_intents=taxonomy.intent_names()) as rasa:
        for number in range(6):
            assert (await rasa.parse(f"message {number}")).intent == "report_weapon"
    assert [len(fake.requests) for fake in fakes] == [3, 3]


async def test_a_failing_server_is_skipped_and_its_message_goes_to_the_other(
    two_servers: tuple[list[FakeRasa], str],
) -> None:
    fakes, urls = two_servers
    fakes[0].behaviour = lambda body: web.Response(status=503)
    now = [1000.0]
    async with RasaClient(
        urls, TOKEN, known_intents=taxonomy.intent_names(), retry_after=15, clock=lambda: now[0]
    ) as rasa:
        for number in range(4):  # none lost: the one that met the failing server went on to the other
            assert (await rasa.parse(f"message {number}")).intent == "report_weapon"
        assert len(fakes[0].requests) == 1  # asked once, then left alone
        assert len(fakes[1].requests) == 4
        assert rasa.available
        # Its retry time passed and it recovered: it is in the turn again (the passive health check).
        now[0] += 16
        fakes[0].behaviour = None
        for number in range(2):
            await rasa.parse(f"later {number}")
        assert len(fakes[0].requests) == 2
        # Positive control: with both failing, the client says so (the bot's fallback takes over).
        for fake in fakes:
            fake.behaviour = lambda body: web.Response(status=503)
        with pytest.raises(NLUUnavailable):
            await rasa.parse("nobody answers")
        assert not rasa.available
