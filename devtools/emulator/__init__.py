"""A local Telegram Bot API emulator for tests, benchmarks and the demo.

`python -m devtools.emulator --port 8081` runs it standalone; `devtools.emulator.client.Emulator` drives it
(in-process or over HTTP); `python -m devtools.emulator.chat` is the terminal chat of the demo.
Files follow Telegram's rules (devtools.emulator.media, .uploads): users send photos, files, albums,
voice notes and videos; the bot fetches them with getFile (20 MB) and uploads photos (10 MB, sides),
documents (50 MB) and albums (2-10); `Emulator.received_files` returns what a recipient downloads.
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
