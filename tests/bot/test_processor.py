"""PerChatUpdateProcessor directly: one chat's updates one at a time and in order, chats side by side."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update
from telegram.ext import SimpleUpdateProcessor

from bot.processor import PerChatUpdateProcessor


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type=Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime.now(UTC), chat, text=f"u{update_id}"))


class Gate:
    """A handler that says when it starts and finishes only when the test lets it."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log
        self.started, self.release, self.finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def handle(self) -> None:
        self.log.append(f"start {self.name}")
        self.started.set()
        await self.release.wait()
        self.log.append(f"end {self.name}")
        self.finished.set()


async def settle() -> None:
    """Let every task that can run, run (no timer: a fixed number of event-loop turns)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_one_chats_updates_run_one_at_a_time_in_arrival_order() -> None:
    processor = PerChatUpdateProcessor(8)
    log: list[str] = []
    gates = [Gate(str(i), log) for i in range(3)]
    async with processor:
        tasks = [
            asyncio.create_task(processor.process_update(update(i, 7), gate.handle()))
            for i, gate in enumerate(gates)
        ]
        await gates[0].started.wait()
        await settle()
        assert log == ["start 0"]  # the next two wait for the first, although free to run
        for gate in gates:
            gate.release.set()
        await asyncio.gather(*tasks)
    assert log == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]


async def test_control_other_chats_are_not_held_up_by_a_busy_one() -> None:
    """The same processor lets another chat's update run (and finish) while chat 7's is unfinished."""
    processor = PerChatUpdateProcessor(8)
    log: list[str] = []
    busy, other = Gate("chat 7", log), Gate("chat 8", log)
    async with processor:
        first = asyncio.create_task(processor.process_update(update(1, 7), busy.handle()))
        await busy.started.wait()
        other.release.set()
        second = asyncio.create_task(processor.process_update(update(2, 8), other.handle()))
        await other.finished.wait()
        assert not busy.finished.is_set()
        busy.release.set()
        await asyncio.gather(first, second)
    assert log == ["start chat 7", "start chat 8", "end chat 8", "end chat 7"]


async def test_no_chat_id_is_kept_once_its_updates_are_done() -> None:
    """Chat ids are held in memory only while a chat has updates in flight."""
    processor = PerChatUpdateProcessor(8)
    log: list[str] = []
    gate = Gate("chat 9", log)
    async with processor:
        task = asyncio.create_task(processor.process_update(update(1, 9), gate.handle()))
        await gate.started.wait()
        assert 9 in processor._locks  # control: held while the update runs
        gate.release.set()
        await task
        assert processor._locks == {}
        assert processor._waiting == {}


async def test_an_update_without_a_chat_runs_at_once() -> None:
    processor = PerChatUpdateProcessor(8)
    log: list[str] = []
    busy, chatless = Gate("chat 7", log), Gate("no chat", log)
    async with processor:
        first = asyncio.create_task(processor.process_update(update(1, 7), busy.handle()))
        await busy.started.wait()
        chatless.release.set()
        await processor.process_update(object(), chatless.handle())
        assert chatless.finished.is_set()
        busy.release.set()
        await first


async def test_control_pythons_telegram_bots_own_concurrent_processor_interleaves_a_chat() -> None:
    """Positive control: the check above catches a processor that does not keep a chat in order."""
    processor = SimpleUpdateProcessor(8)
    log: list[str] = []
    gates = [Gate(str(i), log) for i in range(3)]
    async with processor:
        tasks = [
            asyncio.create_task(processor.process_update(update(i, 7), gate.handle()))
            for i, gate in enumerate(gates)
        ]
        await gates[0].started.wait()
        await settle()
        assert log == ["start 0", "start 1", "start 2"]
        for gate in gates:
            gate.release.set()
        await asyncio.gather(*tasks)
