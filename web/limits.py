"""How large a request body may be: checked before anything reads it, and counted as it arrives.

uvicorn sets no limit, and Starlette's form parser caps a field but not a file (spooled to disk, then
read whole into memory). So a request that declares a larger body (Content-Length) is answered 413
before a byte is read, and one that streams more than its route's limit (chunked, or lying about its
length) is cut off with a 413 at the chunk that crosses it. Only the school import takes a file.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_LIMIT = 64 * 1024  # a sign-in, setup or sign-out form is well under 4 KiB
IMPORT_BODY_LIMIT = 2 * 1024 * 1024  # a school list: thousands of name,code,board lines (~50 bytes each)
TOO_LARGE = "This request is too large: at most {size} here."


class BodyTooLarge(Exception):
    """Raised from `receive` once a body has passed its limit (caught by `BodyLimit`)."""


def size_text(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


class BodyLimit:
    """ASGI middleware: bodies over `limits[path]` (else `default`) bytes get a 413, unread."""

    def __init__(self, app: ASGIApp, *, default: int, limits: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.limits = dict(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length", "0")
        if not (declared.isascii() and declared.isdigit()) or int(declared) > limit:
            await self._refuse(limit, scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(limit, scope, receive, send)

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        # The rest of the body is never read: the server closes the connection after the answer.
        response = PlainTextResponse(
            TOO_LARGE.format(size=size_text(limit)), status_code=413, headers={"connection": "close"}
        )
        await response(scope, receive, send)
