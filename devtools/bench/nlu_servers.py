"""One Rasa server against two behind the bot's client: parses per second, 8 clients at once.

`python -m devtools.bench.nlu_servers URL[,URL...] ...` with NLU_TOKEN set: each argument is one
configuration (one URL, or several comma-separated), measured in turn on the same messages.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from nlu import taxonomy
from nlu.rasa_client import RasaClient

CLIENTS = 8
MESSAGES = 400
TEXTS = [
    "a kid in grade 10 has a knife in his backpack",
    "someone is selling vapes in the washroom",
    "can i ask the officer a question about a party this weekend",
    "my friend is getting bullied online every day",
]
PARSES = len(TEXTS) * 2 + MESSAGES  # what one `rate` asks, warm-up included


async def rate(urls: str, token: str) -> float:
    """Parses per second with CLIENTS concurrent clients (after a warm-up of each server)."""
    async with RasaClient(urls, token, known_intents=taxonomy.intent_names(), timeout=30) as rasa:
        for text in TEXTS * 2:
            await rasa.parse(text)
        queue = list(range(MESSAGES))

        async def client() -> None:
            while queue:
                number = queue.pop()
                await rasa.parse(TEXTS[number % len(TEXTS)])

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        return MESSAGES / (time.perf_counter() - started)


async def main(configurations: list[str]) -> None:
    token = os.environ["NLU_TOKEN"]
    for urls in configurations:
        servers = len(urls.split(","))
        sys.stdout.write(f"{servers} server(s): {await rate(urls, token):.0f} parses/s\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
