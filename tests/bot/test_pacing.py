"""Pacing directly: a burst per chat then a wait, calls with no chat unpaced, RetryAfter retried."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.pacing import CHAT_BURST, Pacing


class Sender:
    """Stands in for the Bot API call python-telegram-bot hands the rate limiter; counts calls."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[Any] = []
        self.failures = failures  # how many first calls Telegram answers with RetryAfter

    async def __call__(self, chat_id: Any) -> dict[str, Any]:
        self.calls.append(chat_id)
        if len(self.calls) <= self.failures:
            raise RetryAfter(timedelta(milliseconds=10))
        return {"ok": True, "chat_id": chat_id}


def send(pacing: Pacing, sender: Sender, chat_id: int | None) -> asyncio.Task[Any]:
    data: dict[str, Any] = {} if chat_id is None else {"chat_id": chat_id}
    return asyncio.create_task(pacing.process_request(sender, (chat_id,), {}, "sendMessage", data, None))


async def settle() -> None:
    """Let every task that can run, run (a fixed number of event-loop turns, no timer)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_a_chat_gets_a_burst_then_waits_while_another_chat_is_served() -> None:
    pacing, sender = Pacing(), Sender()
    burst = [send(pacing, sender, 7) for _ in range(CHAT_BURST)]
    await asyncio.gather(*burst)  # the burst goes at once
    held = send(pacing, sender, 7)
    other = send(pacing, sender, 8)
    await other  # another chat is not held up by chat 7's pace
    await settle()
    assert not held.done()  # chat 7's next message waits for its pace
    assert sender.calls == [7] * CHAT_BURST + [8]
    assert await held == {"ok": True, "chat_id": 7}  # and goes once the pace allows


async def test_control_disabled_pacing_sends_everything_at_once() -> None:
    """Positive control: the check above sees the difference; without pacing nothing waits."""
    pacing, sender = Pacing(enabled=False), Sender()
    tasks = [send(pacing, sender, 7) for _ in range(CHAT_BURST + 3)]
    await settle()
    assert all(task.done() for task in tasks)
    assert sender.calls == [7] * (CHAT_BURST + 3)


async def test_calls_with_no_chat_are_not_paced() -> None:
    pacing, sender = Pacing(), Sender()
    tasks = [send(pacing, sender, None) for _ in range(CHAT_BURST + 3)]
    await settle()
    assert all(task.done() for task in tasks)


async def test_retry_after_is_waited_out_and_the_call_retried() -> None:
    pacing, sender = Pacing(max_retries=3), Sender(failures=2)
    assert await send(pacing, sender, 7) == {"ok": True, "chat_id": 7}
    assert sender.calls == [7, 7, 7]  # two refusals, then sent


async def test_control_retry_after_beyond_the_retries_is_raised() -> None:
    pacing, sender = Pacing(max_retries=2), Sender(failures=10)
    with pytest.raises(RetryAfter):
        await send(pacing, sender, 7)
    assert sender.calls == [7, 7, 7]  # the first try and two retries, no more
