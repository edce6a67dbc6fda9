"""A text starting with "/" is classified as words by the real Rasa server, and leaves it in use.

Rasa reads such a text as an intent name (its "/intent" shortcut): the positive control posts one
to the server directly and gets back an intent no model knows. Through the client, the words are
classified and the server stays in use for the next message.
"""

from __future__ import annotations

import httpx
import pytest

from nlu import taxonomy
from nlu.rasa_client import RasaClient
from tests.conftest import RasaServer

pytestmark = pytest.mark.rasa

SLASHED = "/😭 a kid has a gun in his bag at the portables"


def test_control_rasa_itself_reads_a_leading_slash_as_an_intent_name(rasa_server: RasaServer) -> None:
    url, token = f"{rasa_server.url}/model/parse", {"token": rasa_server.token}
    answer = httpx.post(url, params=token, json={"text": SLASHED}, timeout=30).json()
    assert answer["intent"]["name"] not in taxonomy.intent_names()


async def test_through_the_client_the_words_are_classified_and_the_server_stays_in_use(
    rasa_server: RasaServer,
) -> None:
    known = taxonomy.intent_names()
    async with RasaClient(rasa_server.url, rasa_server.token, known_intents=known) as client:
        slashed = await client.parse(SLASHED)
        assert slashed.intent == "report_weapon"
        assert client.available
        after = await client.parse("thanks officer")
        assert after.intent == "thank"
