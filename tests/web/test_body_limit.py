"""Request bodies are capped before anything reads them: an unauthenticated visitor cannot make the
dashboard spool or hold a large upload. Only the school import takes a file, and a larger body."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
from starlette.types import ASGIApp, Message

from storage.models import WebRole
from tests.web.conftest import CSRF, FORM_TOKEN, Site
from tests.web.test_http import signed_in
from web import limits
from web.app import SESSION_COOKIE, create_app

BOUNDARY = "sro-test-boundary"
CHUNK = 64 * 1024


def multipart_file(size: int, name: str = "file") -> Iterator[bytes]:
    """A multipart body holding one file of `size` bytes, in chunks, made as it is sent."""
    yield (
        f'--{BOUNDARY}\r\ncontent-disposition: form-data; name="{name}"; filename="big.csv"\r\n'
        "content-type: text/csv\r\n\r\n"
    ).encode()
    left = size
    while left > 0:
        yield b"a" * min(CHUNK, left)
        left -= CHUNK
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def form_field(size: int) -> Iterator[bytes]:
    """A form-encoded body whose password field is `size` bytes, in chunks."""
    yield b"email=ann%40example.org&password="
    left = size
    while left > 0:
        yield b"a" * min(CHUNK, left)
        left -= CHUNK


async def post_raw(
    app: ASGIApp,
    path: str,
    chunks: Iterator[bytes],
    length: int | None = None,
    content_type: str = f"multipart/form-data; boundary={BOUNDARY}",
    cookie: str | None = None,
) -> tuple[int, int, bytes]:
    """POST a streamed body straight to the ASGI app: (status, bytes the app pulled, response body)."""
    pulled = 0
    pending = list(chunks)

    async def receive() -> Message:
        nonlocal pulled
        if not pending:
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"content-type", content_type.encode())]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], pulled, body


async def test_a_large_upload_to_the_sign_in_page_is_refused_without_being_read(site: Site) -> None:
    """Before, /login (like every route) took one file of any size: spooled to disk, then read whole
    into memory, from anyone. Now the body is cut off at the cap, with a 413 and the security headers."""
    app = create_app(site.config)
    size = 2 * 1024 * 1024
    # Streamed (no Content-Length): counted as it comes, refused once past the cap.
    status, pulled, body = await post_raw(
        app, "/login", form_field(size), content_type="application/x-www-form-urlencoded"
    )
    assert status == 413
    assert b"too large" in body
    assert pulled <= limits.BODY_LIMIT + CHUNK  # the cap and the chunk that crossed it, no more
    # A streamed file is refused at its first line (no route but the import takes one), unread.
    status, pulled, _ = await post_raw(app, "/login", multipart_file(size))
    assert status in (400, 413)
    assert pulled <= limits.BODY_LIMIT + CHUNK
    # Declared (Content-Length): refused before a byte is read.
    whole = b"".join(multipart_file(size))
    status, pulled, _ = await post_raw(app, "/login", iter([whole]), length=len(whole))
    assert (status, pulled) == (413, 0)
    response = await site.client.post("/login", files={"file": ("big.csv", b"a" * size)})
    assert response.status_code == 413
    assert response.headers["content-security-policy"]  # answered inside the security headers


async def test_only_the_school_import_takes_a_file(site: Site) -> None:
    """A small file on the sign-in form is refused too: no other route has any use for one."""
    page = await site.client.get("/login")
    token = FORM_TOKEN.search(page.text)
    assert token is not None
    data = {"form_token": token.group(1), "email": "ann@example.org", "password": "x", "code": ""}
    response = await site.client.post("/login", data=data, files={"file": ("s.csv", b"name,code\n")})
    assert response.status_code == 400
    # Control: the same form without the file is read (and refused as a wrong password).
    assert (await site.client.post("/login", data=data)).status_code == 401


async def test_the_school_import_takes_a_list_larger_than_a_form_but_not_without_bound(site: Site) -> None:
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    token = CSRF.search((await client.get("/coverage")).text)
    assert token is not None
    name = "School of the Long Name " + "x" * 150
    listing = "name,code\n" + "".join(f"{name} {n},S{n:04d}\n" for n in range(500))
    assert limits.BODY_LIMIT < len(listing) < limits.IMPORT_BODY_LIMIT
    imported = await client.post(
        "/coverage/import", data={"csrf": token.group(1)}, files={"file": ("s.csv", listing.encode())}
    )
    assert imported.status_code == 200, imported.text
    assert "500 added" in imported.text
    too_big = b"name,code\n" + b"x" * limits.IMPORT_BODY_LIMIT
    refused = await client.post(
        "/coverage/import", data={"csrf": token.group(1)}, files={"file": ("s.csv", too_big)}
    )
    assert refused.status_code == 413
    status, pulled, _ = await post_raw(
        create_app(site.config),
        "/coverage/import",
        multipart_file(3 * limits.IMPORT_BODY_LIMIT),
        cookie=f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}",
    )
    assert status == 413
    assert pulled <= limits.IMPORT_BODY_LIMIT + CHUNK


async def test_a_school_list_with_an_over_long_field_is_refused_in_words_not_a_server_error(
    site: Site,
) -> None:
    """Python's CSV reader refuses a field over 128 KiB (under the import's cap): that is a bad file."""
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    token = CSRF.search((await client.get("/coverage")).text)
    assert token is not None

    async def post(listing: bytes) -> httpx.Response:
        return await client.post(
            "/coverage/import", data={"csrf": token.group(1)}, files={"file": ("s.csv", listing)}
        )

    refused = await post(b"name,code\n" + b"x" * 200_000 + b",XL\n")
    assert refused.status_code == 400
    assert "cannot be read as CSV" in refused.text
    assert (await post(b"name,code\nX School,XL\n")).status_code == 200  # control
