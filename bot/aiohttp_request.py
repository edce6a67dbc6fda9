"""The bot's HTTP client for the Bot API: python-telegram-bot's request interface over aiohttp.

python-telegram-bot ships one implementation of its `BaseRequest`, over httpx. Under a burst the
bot has hundreds of sends in flight, and httpx's connection pool (httpcore, over anyio) spends
milliseconds of Python per request there: measured on this project's machine with 32 requests at
once to a local server, 4.4 to 5.2 ms of CPU per request with httpx against 0.3 to 0.4 ms with
aiohttp, whose HTTP parser and pool are in C (docs/benchmarks.md, "Load: the Bot API client").
A report costs the bot four sends, so this was about a fifth of its CPU. aiohttp is already one
of the project's dependencies (the Bot API emulator runs on it).

Same contract as `HTTPXRequest`: the same form-encoded or multipart bodies, the same timeouts
(connect, read, write folded into the read of a reply, pool), and the same errors: `TimedOut` for
a timeout, with "not sent" when no connection was free within the pool timeout, and
`NetworkError` naming the client's error for anything else.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from app import tls

# python-telegram-bot's own defaults (HTTPXRequest): seconds.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_TIMEOUT = 1.0

POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection pool size or the pool timeout."
)


class AiohttpRequest(BaseRequest):
    """Bot API requests through one aiohttp session, at most `connection_pool_size` at once."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_slots",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = READ_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        # The pool's own gate: a request that gets no slot within the pool timeout was never sent.
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size, limit_per_host=self._pool_size, ssl=tls.client_context()
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                # No cookies between the Bot API's answers. HTTPS_PROXY / NO_PROXY are honoured, as
                # httpx did: a deployment behind an egress proxy keeps reaching Telegram.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=True,
                raise_for_status=False,
            )
            self._slots = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session, slots = self._session, self._slots
        if session is None or session.closed or slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        body: Any = None
        if request_data is not None:
            body = _form(request_data.json_parameters, files) if files else request_data.json_parameters
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        write_default = self._media_write_timeout if files else self._write_timeout
        write = write_default if isinstance(write_timeout, DefaultValue) else write_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        # aiohttp has no write timeout: a body still being written when the read timeout would run
        # out gets the write timeout on top, so the reply is awaited at most as long as with httpx.
        reading = None if read is None or write is None else read + write
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=reading)
        try:
            async with asyncio.timeout(pool):
                await slots.acquire()
        except TimeoutError as error:
            raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from error
        try:
            # No redirects followed (httpx's default): a body or a token never goes to another address.
            request = session.request(method, url, data=body, timeout=timeout, allow_redirects=False)
            async with request as response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's ServerTimeoutError is a TimeoutError too
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
        finally:
            slots.release()


def _form(fields: dict[str, str], files: dict[str, Any]) -> aiohttp.FormData:
    """A multipart body: the parameters as fields, then each file (python-telegram-bot's (name,
    content, type) tuples)."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
