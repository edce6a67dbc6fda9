"""What every response carries (CSP, no framing), who the client is behind trusted proxies, CSRF checks."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No script at all, from anywhere: the dashboard needs none. Images may be data: URIs (the TOTP QR).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}
# Sent only when the dashboard is not on this machine: a browser would remember it for a year for
# every local service on that name. No includeSubDomains: other hosts are the operator's to decide.
STRICT_TRANSPORT = "max-age=31536000"
logger = logging.getLogger(__name__)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class SecurityHeaders:
    """ASGI middleware: the headers above on every response, errors and static files included;
    `strict_transport`: Strict-Transport-Security too (a dashboard served beyond this machine)."""

    def __init__(self, app: ASGIApp, *, strict_transport: bool = False) -> None:
        self.app = app
        self.headers = dict(SECURITY_HEADERS)
        if strict_transport:
            self.headers["strict-transport-security"] = STRICT_TRANSPORT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.encode(), value.encode())
                    for name, value in self.headers.items()
                    if name.encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception as error:
            # Answered here, not by Starlette's outer error handler, so that a server error carries
            # the headers too; logged by type only (its message could hold what was posted).
            logger.error("web.server_error error=%s", type(error).__name__)
            if started:
                raise
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, with_headers)


def client_address(request: Request, trusted_proxies: frozenset[str]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
    X-Forwarded-For entry that is not one (entries further left are the client's to forge)."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = [
        part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()
    ]
    for hop in reversed(forwarded):
        if hop not in trusted_proxies:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return "invalid"
    return peer


def same_token(expected: str | None, given: str | None) -> bool:
    """Whether a posted token is the expected one; compared as bytes, since `hmac.compare_digest`
    raises on text that is not ASCII (a crafted field would be a server error, not a refusal)."""
    return (
        bool(expected)
        and bool(given)
        and hmac.compare_digest(
            str(expected).encode("utf-8", "surrogatepass"), str(given).encode("utf-8", "surrogatepass")
        )
    )


def is_local(host: str) -> bool:
    """Whether a URL's host part (a name or address, with or without a port) is this machine."""
    try:
        name = urlsplit(f"//{host}").hostname  # [::1]:8000 -> ::1, localhost:8443 -> localhost
    except ValueError:
        name = None
    return (name or host).lower() in LOOPBACK_NAMES
