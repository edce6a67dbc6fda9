"""A local Telegram Bot API emulator for tests, benchmarks and the demo.

`python -m devtools.emulator --port 8081` runs it standalone; `devtools.emulator.client.Emulator` drives it
(in-process or over HTTP); `python -m devtools.emulator.chat` is the terminal chat of the demo.
"""

from devtools.emulator.client import (
    CallbackAnswer,
    Chat,
    Emulator,
    EmulatorError,
    Message,
    Press,
    ReceivedFile,
    Sent,
    User,
    wait_until_up,
)
from devtools.emulator.faults import Call
from devtools.emulator.server import EmulatorServer

__all__ = [
    "Call",
    "CallbackAnswer",
    "Chat",
    "Emulator",
    "EmulatorError",
    "EmulatorServer",
    "Message",
    "Press",
    "ReceivedFile",
    "Sent",
    "User",
    "wait_until_up",
]
