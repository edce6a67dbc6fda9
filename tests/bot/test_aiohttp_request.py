"""The bot's aiohttp client for the Bot API does what python-telegram-bot's httpx client does.

Each call goes over real HTTP to the emulator, which refuses what Telegram refuses; the same calls
through `HTTPXRequest` are the reference: the same messages and files arrive, and the same errors
come back for a timeout, a refused connection, a dropped answer and a full pool.
"""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.aiohttp_request import AiohttpRequest
from devtools.emulator import Emulator

Make = Callable[..., BaseRequest]
CLIENTS: dict[str, Make] = {"httpx": HTTPXRequest, "aiohttp": AiohttpRequest}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@asynccontextmanager
async def bot_with(emu: Emulator, request: BaseRequest) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url, request=request) as bot:
        yield bot


@asynccontextmanager
async def local_server(handler: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[int]:
    """A plain HTTP server on 127.0.0.1 answering every path with `handler`; its port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@asynccontextmanager
async def initialized(client: str) -> AsyncIterator[BaseRequest]:
    request = CLIENTS[client]()
    await request.initialize()
    try:
        yield request
    finally:
        await request.shutdown()


def jpeg(width: int, height: int, shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 80, 160)).save(out, "JPEG")
    return out.getvalue()


async def everything(emu: Emulator, make: Make) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A text with markup and buttons, a photo, an album and a document, sent with `make`'s client;
    what the recipient sees of them (message texts and files)."""
    officer = await emu.user(started=True)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Open ✅", callback_data="open:1")]])
    async with bot_with(emu, make(connection_pool_size=4)) as bot:
        await bot.send_message(officer.id, "Case <b>K7-2Q</b> — «un gars» 🇫🇷", parse_mode="HTML")
        await bot.send_message(officer.id, "Reply?", reply_markup=keyboard)
        await bot.send_photo(officer.id, jpeg(640, 480, 10), caption="📎 image <b>1</b>", parse_mode="HTML")
        await bot.send_media_group(
            officer.id,
            [InputMediaPhoto(jpeg(300, 200, 40)), InputMediaPhoto(jpeg(200, 300, 90), caption="2")],
        )
        await bot.send_document(officer.id, jpeg(100, 100, 200), filename="image-1-of-1.jpg", caption="doc")
    messages = [
        (m.text, m.buttons, [e["type"] for e in m.entities])
        for m in await emu.messages(officer)
        if "text" in m.raw
    ]
    files = [
        (f.kind, f.caption, f.file_name, f.mime_type, f.width, f.height, f.has_buttons, f.data)
        for f in await emu.received_files(officer)
    ]
    return messages, files


async def test_the_same_messages_and_files_arrive_as_with_httpx(emu: Emulator) -> None:
    reference = await everything(emu, HTTPXRequest)
    assert await everything(emu, AiohttpRequest) == reference
    messages, files = reference
    assert messages == [
        ("Case K7-2Q — «un gars» 🇫🇷", [], ["bold"]),
        ("Reply?", [[("Open ✅", "open:1")]], []),
    ]
    assert [(kind, caption, name) for kind, caption, name, *_ in files] == [
        ("photo", "📎 image 1", None),
        ("photo", None, None),
        ("photo", "2", None),
        ("document", "doc", "image-1-of-1.jpg"),
    ]


@pytest.mark.parametrize("client", CLIENTS)
async def test_what_the_bot_api_refuses_comes_back_as_with_httpx(emu: Emulator, client: str) -> None:
    officer = await emu.user(started=True)
    async with bot_with(emu, CLIENTS[client]()) as bot:
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await bot.send_message(officer.id, "<b>unclosed", parse_mode="HTML")


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_slow_answer_is_a_timeout(emu: Emulator, client: str) -> None:
    officer = await emu.user(started=True)
    await emu.delay(3, method="sendMessage")
    async with bot_with(emu, CLIENTS[client](read_timeout=0.3, write_timeout=0.3)) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(officer.id, "hello")


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_dropped_answer_is_a_network_error(emu: Emulator, client: str) -> None:
    officer = await emu.user(started=True)
    await emu.drop_connections(method="sendMessage")
    async with bot_with(emu, CLIENTS[client]()) as bot:
        with pytest.raises(NetworkError) as raised:
            await bot.send_message(officer.id, "hello")
    assert not isinstance(raised.value, TimedOut)


@pytest.mark.parametrize("client", CLIENTS)
async def test_nobody_listening_is_a_network_error(client: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    async with initialized(client) as request:
        with pytest.raises(NetworkError):
            await request.post(f"http://127.0.0.1:{port}/bot123:abc/sendMessage", None)


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_full_pool_is_a_timeout_and_the_call_is_not_sent(emu: Emulator, client: str) -> None:
    officer = await emu.user(started=True)
    await emu.delay(1.5, method="sendMessage")  # the first call holds the only connection
    request = CLIENTS[client](connection_pool_size=1, pool_timeout=0.2)
    async with bot_with(emu, request) as bot:
        first = asyncio.create_task(bot.send_message(officer.id, "first"))
        await asyncio.sleep(0.3)
        with pytest.raises(TimedOut, match="not\\* sent"):
            await bot.send_message(officer.id, "second")
        await first
    assert [m.text for m in await emu.messages(officer)] == ["first"]


async def test_it_refuses_to_work_before_initialize_and_after_shutdown() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:1/", "POST")
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:1/", "POST")
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpRequest(connection_pool_size=0)


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_redirect_is_not_followed(client: str) -> None:
    """Neither client follows a redirect: the token in the path and the body go nowhere else."""
    hits: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        hits.append(request.path)
        if request.path.endswith("/sendMessage"):
            return web.Response(status=307, headers={"Location": "/elsewhere"})
        return web.json_response({"ok": True, "result": True})

    async with local_server(moved) as port, initialized(client) as request:
        with pytest.raises(NetworkError):
            await request.post(f"http://127.0.0.1:{port}/bot123:abc/sendMessage", None)
    assert hits == ["/bot123:abc/sendMessage"]


@pytest.mark.parametrize("client", CLIENTS)
async def test_an_egress_proxy_from_the_environment_is_used(
    client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP(S)_PROXY is honoured as httpx honoured it: a deployment behind one still reaches Telegram."""
    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(str(request.url))
        return web.json_response({"ok": True, "result": True})

    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with local_server(proxy) as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        async with initialized(client) as request:  # nothing listens at bot-api.invalid: only the proxy
            assert await request.post("http://bot-api.invalid/bot123:abc/getMe", None) is True
    assert seen == ["http://bot-api.invalid/bot123:abc/getMe"]
