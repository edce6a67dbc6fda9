"""Classify messages from standard input, one per line, as JSON lines on standard output.

    .venv/bin/python -m nlu.classify < texts.txt > predictions.jsonl

Bytes that are not UTF-8 are replaced, never fatal. Each output line has
`text`, `intent`, `confidence`, `ranking`, `urgent`, `urgent_reason`,
`entities`, `source` ("rasa" or "fallback") and `language` ("en" or
"fr", detected from the text: there is nothing to pass), in input order. The Rasa
server comes from NLU_URL and NLU_TOKEN; when it cannot answer, the fallback
does, so the command exits 0 whenever it answered every line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import BinaryIO, TextIO

from app.logs import configure_logging
from app.settings import Settings
from nlu.classifier import Classifier, build_classifier

CONCURRENCY = 16


def read_lines(stream: BinaryIO) -> Iterable[str]:
    """Decode line by line so a bad byte spoils one character, not the input."""
    for raw in stream:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


async def classify_stream(classifier: Classifier, lines: Iterable[str], out: TextIO) -> int:
    """Classify concurrently, write in input order; return how many lines were answered."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(text: str) -> str:
        async with semaphore:
            result = await classifier.classify(text)
        return json.dumps({"text": text, **result.as_dict()}, ensure_ascii=False)

    count = 0
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= CONCURRENCY * 8:
            count += await _flush(batch, one, out)
            batch = []
    count += await _flush(batch, one, out)
    return count


async def _flush(batch: list[str], one: Callable[[str], Awaitable[str]], out: TextIO) -> int:
    if not batch:
        return 0
    results = await asyncio.gather(*(one(text) for text in batch))
    out.write("".join(f"{line}\n" for line in results))
    out.flush()
    return len(results)


async def main_async() -> int:
    settings = Settings()
    classifier = build_classifier(
        settings.nlu_url, settings.nlu_token.get_secret_value(), settings.nlu_timeout_seconds
    )
    try:
        await classify_stream(classifier, read_lines(sys.stdin.buffer), sys.stdout)
    finally:
        await classifier.aclose()
    return 0


def main() -> int:
    configure_logging()
    logging.getLogger("nlu").setLevel(logging.ERROR)  # stderr stays quiet for pipelines
    return asyncio.run(main_async())


if __name__ == "__main__":
    sys.exit(main())
