"""The demo's terminal chat: talk to the bot through the emulator as a student or an officer.

    python -m devtools.emulator.chat --url http://127.0.0.1:8081

Type to send. The bot's messages appear in panels with their buttons numbered; type the
number to press one. `:help` lists the terminal's own commands (`/help` goes to the bot).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from devtools.emulator.client import Emulator, EmulatorError, Message, User, wait_until_up

HELP = """\
[bold]Just type[/] to send a message to the bot as the current account; /start, /status ... go to the bot.
[bold]1[/], [bold]2[/] ...           press a button of the latest message that has buttons
[bold]:press M.N[/]         press button N of message #M (also /press N)
[bold]:as student[/] [NAME]  be a student (several: :as student Sam)   (also /as)
[bold]:as officer[/] NAME    be a school officer (new accounts enroll with /enroll CODE)
[bold]:accounts[/]          list the accounts and their unread messages (also /accounts)
[bold]:history[/]           show this account's conversation again
[bold]:reply[/] \\[#M] TEXT    answer a message with Telegram's reply (default: the bot's latest)
[bold]:edit[/] TEXT         edit the last text you sent
[bold]:say[/] TEXT          send TEXT as it is (a number, or text starting with ':')
[bold]:sticker :voice :video :photo :document :location :contact[/]   send that kind of message
[bold]:forward[/] TEXT      forward a message (as if from someone else)
[bold]:quit[/]              leave (also /quit, Ctrl-D)"""

ENTITY_STYLES = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strike",
    "spoiler": "reverse",
    "code": "cyan",
    "pre": "cyan",
    "text_link": "underline blue",
    "blockquote": "italic dim",
    "expandable_blockquote": "italic dim",
}


def rich_text(text: str, entities: list[Mapping[str, Any]]) -> Text:
    """Telegram text with its entities as rich styles (offsets converted from UTF-16)."""
    starts, position = [], 0
    for char in text:  # UTF-16 offset -> index into the str
        starts.extend([position] * (2 if ord(char) > 0xFFFF else 1))
        position += 1
    starts.append(position)
    rendered = Text(text)
    for entity in entities:
        style = ENTITY_STYLES.get(str(entity.get("type")))
        begin, end = int(entity["offset"]), int(entity["offset"]) + int(entity["length"])
        if style and 0 <= begin < end <= len(starts) - 1:
            rendered.stylize(style, starts[begin], starts[end])
    return rendered


@dataclass
class Account:
    label: str  # "student", "student Sam", "officer Smith"
    user: User
    unread: int = 0

    @property
    def role(self) -> str:
        return self.label.split(" ", 1)[0]


class LineReader:
    """Reads stdin lines on a daemon thread, one per request, so the prompt is always current."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._prompts: queue.Queue[str] = queue.Queue()
        self.prompt = ""
        self.waiting = False
        with contextlib.suppress(ImportError):  # line editing and history where available
            importlib.import_module("readline")
        threading.Thread(target=self._run, name="chat-input", daemon=True).start()

    def request(self, prompt: str) -> None:
        self.prompt = prompt
        self._prompts.put(prompt)

    def _run(self) -> None:
        while True:
            prompt = self._prompts.get()
            self.waiting = True
            try:
                line: str | None = input(prompt)
            except (EOFError, KeyboardInterrupt):
                line = None
            self.waiting = False
            self.loop.call_soon_threadsafe(self.lines.put_nowait, line)
            if line is None:
                return


class ChatSession:
    """Everything the terminal chat does, apart from reading the keyboard."""

    def __init__(self, emulator: Emulator, console: Console, timezone: dt.tzinfo | None = None) -> None:
        self.emu = emulator
        self.console = console
        # The program's zone (the demo passes SRO_TIMEZONE), so panel times match the bot's texts.
        self.timezone = timezone
        self.accounts: dict[str, Account] = {}
        self.current: Account | None = None
        self.keyboard: Message | None = None  # the latest message with buttons, in the current chat
        self.seq = 0
        self.reader: LineReader | None = None

    # --- accounts ---------------------------------------------------------------------------

    async def load_accounts(self) -> None:
        """Adopt the accounts of an earlier session (they live in the emulator), or make a student."""
        for user in await self.emu.users():
            if user.label and user.label.split(" ", 1)[0] in ("student", "officer"):
                self.accounts[user.label] = Account(user.label, user)
        _, self.seq = await self.emu.events(since=10**12)
        await self.switch("student")

    async def switch(self, label: str) -> None:
        account = self.accounts.get(label)
        if account is None:
            role, _, name = label.partition(" ")
            first_name = name or ("Student" if role == "student" else "Officer")
            user = await self.emu.user(first_name=first_name, label=label)
            account = self.accounts[label] = Account(label, user)
            new = True
        else:
            new = False
        self.current, self.keyboard = account, None
        who = f"{account.user.first_name} ({account.role})"
        self.console.rule(f"[bold]You are {who}[/] · private chat with @{self.emu.bot.username}")
        if new and account.role == "officer":
            self.console.print(
                "[dim]A new officer account: link it with [bold]/enroll CODE[/] "
                "(make a code with [bold]sro officer invite[/]).[/]"
            )
        await self.history(limit=10, mark_unread=account.unread)
        account.unread = 0

    def account_of(self, chat_id: int | None) -> Account | None:
        return next((a for a in self.accounts.values() if a.user.id == chat_id), None)

    def list_accounts(self) -> None:
        for account in self.accounts.values():
            marker = "→" if account is self.current else " "
            unread = f"  [yellow]{account.unread} unread[/]" if account.unread else ""
            self.console.print(f" {marker} [bold]{account.label}[/]{unread}")

    # --- showing the bot's messages -----------------------------------------------------------

    async def history(self, limit: int = 30, mark_unread: int = 0) -> None:
        assert self.current is not None
        shown = (await self.emu.messages(self.current.user, include_user=True))[-limit:]
        if not shown:
            self.console.print("[dim](no messages yet: say hello, or send /start)[/]")
        for index, message in enumerate(shown):
            if message.from_bot:
                self.show(message, new=index >= len(shown) - mark_unread)
            else:
                self.console.print(Text(f"  you: {message.text or describe(message)}", style="green"))

    def show(self, message: Message, *, title: str = "", new: bool = False) -> None:
        when = dt.datetime.fromtimestamp(int(message.raw.get("date", 0)), tz=dt.UTC).astimezone(self.timezone)
        name = self.emu.bot.first_name
        heading = title or f"{name} · {when:%H:%M}"
        if message.deleted:
            self.console.print(f"[dim]  (message #{message.message_id} was deleted by the bot)[/]")
            return
        body = rich_text(message.text, message.entities) if message.text else Text(describe(message))
        extra = " · edited" if message.edited else ""
        self.console.print(
            Panel(
                body,
                title=heading,
                title_align="left",
                subtitle=f"#{message.message_id}{extra}",
                subtitle_align="right",
                border_style="bright_cyan" if new else "cyan",
                expand=False,
            )
        )
        if message.buttons:
            self.keyboard = message
            self.console.print(self.button_line(message))
        elif self.keyboard is not None and self.keyboard.message_id == message.message_id:
            self.keyboard = None

    def button_line(self, message: Message) -> Text:
        """The buttons, numbered, one keyboard row per line (URL buttons dimmed)."""
        line, number = Text(), 0
        for row_index, row in enumerate(message.buttons):
            line.append("\n  " if row_index else "  ")
            for text, data in row:
                number += 1
                line.append(f"[{number}] ", style="bold magenta")
                line.append(text + "   ", style="magenta" if data is not None else "dim")
        line.rstrip()
        return line

    async def on_event(self, event: Mapping[str, Any]) -> None:
        account = self.account_of(event.get("chat_id"))
        if account is None:
            return
        kind = event["kind"]
        if account is not self.current:
            if kind == "sent":
                account.unread += 1
                self.console.print(
                    f"[yellow]● new message for {account.label}[/] [dim](:as {account.label} to read it)[/]"
                )
            return
        if kind == "sent":
            self.show(Message.from_view(event["message"]), new=True)
        elif kind == "edited":
            message = Message.from_view(event["message"])
            self.show(message, title=f"{self.emu.bot.first_name} edited #{message.message_id}")
        elif kind == "deleted":
            self.console.print(f"[dim]  (the bot deleted message #{event['message']['message_id']})[/]")
        elif kind == "callback_answered" and event["answer"].get("text"):
            style = "bold red" if event["answer"].get("show_alert") else "italic"
            self.console.print(Text(f"  ⓘ {event['answer']['text']}", style=style))

    async def follow(self) -> None:
        """Show what the bot does, as it happens."""
        while True:
            try:
                found, latest = await self.emu.events(since=self.seq, wait=25.0)
            except EmulatorError as error:
                self.console.print(f"[red]The emulator stopped answering: {error}[/]")
                return
            self.seq = int(found[-1]["seq"]) if found else max(self.seq, latest)
            if found and self.reader is not None and self.reader.waiting and self.console.is_terminal:
                self.console.file.write("\r\x1b[2K")
            for event in found:
                await self.on_event(event)
            if found and self.reader is not None and self.reader.waiting and self.console.is_terminal:
                self.console.file.write(self.reader.prompt + _line_buffer())
                self.console.file.flush()

    # --- what the person types ------------------------------------------------------------------

    def prompt(self) -> str:
        assert self.current is not None
        return f"{self.current.label} › "

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False when the person wants to leave."""
        line = line.strip()
        if not line:
            return True
        try:
            return await self._handle(line)
        except EmulatorError as error:
            self.console.print(f"[red]{error}[/]")
            return True

    async def _handle(self, line: str) -> bool:
        """One typed line: the terminal's own commands first, then what goes to the bot; False to quit."""
        assert self.current is not None
        word, _, rest = line.partition(" ")
        command = word[1:].lower() if word[:1] in (":", "/") else ""
        if word == "?" or word == ":help":
            self.console.print(HELP)
        elif command == "quit":
            return False
        elif command == "as":
            await self.as_command(rest)
        elif command == "accounts":
            self.list_accounts()
        elif command == "press" or (line.isdigit() and self.keyboard is not None):
            await self.press(rest if command else line)
        else:
            await self._to_bot(line)
        return True

    async def _to_bot(self, line: str) -> None:
        """A line that is not about the terminal itself: a message (of a kind) or an action in the chat."""
        assert self.current is not None
        user = self.current.user
        word, _, rest = line.partition(" ")
        if word == ":history":
            await self.history()
        elif word == ":say":
            await self.send(rest)
        elif word == ":reply":
            await self.reply(rest)
        elif word == ":edit":
            await self.edit(rest)
        elif word == ":forward":
            await self.emu.forward(user, rest or "a forwarded message", hidden_name="Someone")
        elif word in (":sticker", ":voice", ":video", ":photo", ":document", ":location", ":contact"):
            await self.send_kind(word[1:])
        elif word.startswith(":"):
            self.console.print(f"[red]unknown terminal command {word}[/]; :help lists them")
        else:
            await self.send(line)

    async def as_command(self, rest: str) -> None:
        role, _, name = rest.strip().partition(" ")
        if role not in ("student", "officer") or (role == "officer" and not name.strip()):
            self.console.print("[red]:as student [NAME] or :as officer NAME[/]")
            return
        await self.switch(f"{role} {name.strip()}".strip())

    async def send(self, text: str) -> None:
        assert self.current is not None
        if not text:
            return
        await self.emu.send_text(self.current.user, text)
        if not await self.emu.bot_connected():
            self.console.print("[yellow]The bot is not connected yet; it will get this when it starts.[/]")

    async def send_kind(self, kind: str) -> None:
        assert self.current is not None
        user = self.current.user
        if kind == "sticker":
            await self.emu.send_sticker(user)
        elif kind == "voice":
            await self.emu.send_voice(user)
        elif kind == "video":
            await self.emu.send_video(user)
        elif kind == "photo":
            await self.emu.send_photo(user, caption="a photo")
        elif kind == "document":
            await self.emu.send_document(user)
        elif kind == "location":
            await self.emu.send_location(user)
        else:
            await self.emu.send_contact(user)
        self.console.print(f"[dim]  (you sent a {kind})[/]")

    async def press(self, spec: str) -> None:
        assert self.current is not None
        spec = spec.strip().lstrip("#")
        message = self.keyboard
        if "." in spec:
            message_id, _, spec = spec.partition(".")
            found = [m for m in await self.emu.messages(self.current.user) if str(m.message_id) == message_id]
            message = found[0] if found else None
        if message is None or not spec.isdigit():
            self.console.print("[red]No such button. Type its number (or :press MESSAGE.NUMBER).[/]")
            return
        press = await self.emu.press(self.current.user, message, int(spec) - 1)
        self.console.print(Text(f"  you pressed [{press.text}]", style="green"))

    async def reply(self, rest: str) -> None:
        assert self.current is not None
        target_id, text = None, rest
        if rest.startswith("#"):
            first, _, text = rest.partition(" ")
            target_id = first[1:]
        shown = await self.emu.messages(self.current.user, include_user=True)
        candidates = [
            m
            for m in shown
            if not m.deleted and (str(m.message_id) == target_id if target_id else m.from_bot)
        ]
        if not candidates or not text.strip():
            self.console.print("[red]:reply [#MESSAGE] TEXT — and there must be such a message[/]")
            return
        await self.emu.reply_to(self.current.user, candidates[-1], text.strip())

    async def edit(self, text: str) -> None:
        assert self.current is not None
        shown = await self.emu.messages(self.current.user, include_user=True)
        own = [m for m in shown if not m.from_bot and "text" in m.raw]
        if not own or not text.strip():
            self.console.print("[red]:edit TEXT — after you have sent a text message[/]")
            return
        await self.emu.edit_text(self.current.user, own[-1], text.strip())
        self.console.print(f"[dim]  (you edited message #{own[-1].message_id})[/]")


def describe(message: Message) -> str:
    """A line for a message without text (sticker, photo, ...)."""
    for kind in ("sticker", "photo", "voice", "video", "video_note", "document", "location", "contact"):
        if kind in message.raw:
            return f"[{kind}]"
    return "[message]"


def _line_buffer() -> str:
    try:
        import readline  # absent on some platforms, so imported here
    except ImportError:
        return ""
    return readline.get_line_buffer()


async def run(url: str, console: Console, timezone: dt.tzinfo | None = None) -> None:
    emu = await wait_until_up(url, timeout=30.0)
    session = ChatSession(emu, console, timezone)
    follower: asyncio.Task[None] | None = None
    try:
        console.print(f"[bold]SRO Connect demo[/] — chatting with the bot through the emulator at {url}")
        console.print(
            "[dim]Type to talk to the bot. :help lists the terminal's commands (/help goes to the bot).[/]"
        )
        if not await emu.bot_connected():
            console.print("[yellow]Waiting for the bot to connect… you can already type.[/]")
        await session.load_accounts()
        follower = asyncio.create_task(session.follow())
        reader = session.reader = LineReader(asyncio.get_running_loop())
        while True:
            reader.request(session.prompt())
            line = await reader.lines.get()
            if line is None or not await session.handle(line):
                break
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        await emu.stop()
        console.print("[dim]bye[/]")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.emulator.chat", description="Chat with the bot in the terminal."
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:8081", help="the emulator (default http://127.0.0.1:8081)"
    )
    parser.add_argument(
        "--timezone", help="show times in this zone, e.g. America/Toronto (default: the machine's)"
    )
    args = parser.parse_args(argv)
    timezone = None
    if args.timezone:
        try:
            timezone = ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            parser.error(f"unknown time zone {args.timezone!r}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.url, Console(highlight=False), timezone))


if __name__ == "__main__":
    main()
