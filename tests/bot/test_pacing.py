"""Pacing directly: a burst per chat then a wait, calls with no chat unpaced, RetryAfter retried."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.pacing import CHAT_BURST, OVERALL_PER_SECOND, Pacing, first


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


def send_first(pacing: Pacing, sender: Sender, chat_id: int) -> asyncio.Task[Any]:
    """A send made inside `first()` (the safety information, an urgent tip)."""

    async def sending() -> Any:
        with first():
            return await pacing.process_request(
                sender, (chat_id,), {}, "sendMessage", {"chat_id": chat_id}, None
            )

    return asyncio.create_task(sending())


async def _overall_rate_spent(pacing: Pacing, sender: Sender) -> None:
    """Telegram's overall rate used up by a burst to as many chats: what comes next waits for it."""
    await asyncio.gather(*(send(pacing, sender, 1000 + n) for n in range(OVERALL_PER_SECOND)))
    sender.calls.clear()


async def test_safety_information_goes_before_the_rest_when_the_overall_rate_is_the_limit() -> None:
    """A burst of hundreds of students: 911 and the crisis lines (and urgent tips) are not queued behind
    everyone's other messages."""
    pacing, sender = Pacing(), Sender()
    await _overall_rate_spent(pacing, sender)
    rest = [send(pacing, sender, 2000 + n) for n in range(4)]
    await settle()
    safety = [send_first(pacing, sender, 3000 + n) for n in range(2)]
    await asyncio.gather(*rest, *safety)
    assert sender.calls == [3000, 3001, 2000, 2001, 2002, 2003]


async def test_control_without_first_the_same_sends_go_in_the_order_asked() -> None:
    pacing, sender = Pacing(), Sender()
    await _overall_rate_spent(pacing, sender)
    rest = [send(pacing, sender, 2000 + n) for n in range(4)]
    await settle()
    later = [send(pacing, sender, 3000 + n) for n in range(2)]
    await asyncio.gather(*rest, *later)
    assert sender.calls == [2000, 2001, 2002, 2003, 3000, 3001]


async def test_a_send_cancelled_while_it_waits_for_the_rate_holds_nobody_up() -> None:
    pacing, sender = Pacing(), Sender()
    await _overall_rate_spent(pacing, sender)
    cancelled = send_first(pacing, sender, 4000)
    after = send(pacing, sender, 4001)
    await settle()
    cancelled.cancel()
    assert await after == {"ok": True, "chat_id": 4001}
    assert sender.calls == [4001]
