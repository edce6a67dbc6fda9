"""The Bot API emulator's HTTP server: the Bot API, file downloads, webhook delivery, control.

Routes:
  /bot<TOKEN>/<method>        the Bot API (GET or POST; JSON, form or multipart bodies)
  /file/bot<TOKEN>/<path>     file downloads (a path getFile gave, of at most 20 MB, to the owning bot)
  /_emulator/<operation>      control operations (devtools/emulator/control.py): POST a JSON object (or GET
                              with query parameters); answer {"ok": true, "result": ...} or 400
                              {"ok": false, "error": "..."}. Operations: info, create_user, users,
                              create_chat, chat, block, member, send, send_album, edit, press,
                              messages, files (what the bot sent, with the bytes), file, events
                              (long poll), callback_answers, calls, clear_calls, commands,
                              webhook_info, add_fault, faults, clear_faults, latency.

The server logs method names and outcomes only: never a token, an id or a text, because
the end-to-end tests prove that no process they start writes those anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import traceback
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web

from devtools.emulator import botapi, control, media
from devtools.emulator import uploads as _uploads  # noqa: F401 - registers getFile, sendPhoto, ...
from devtools.emulator.faults import SERVER_ERROR_PHRASES, Fault
from devtools.emulator.params import Params, Upload
from devtools.emulator.state import JSON, ApiError, ControlError, World, unix_now

_LOGGER = logging.getLogger(__name__)
_TOKEN_SHAPE = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,200}")
NOT_FOUND = ApiError(404, "Not Found")
WEBHOOK_TIMEOUT = 10.0
WEBHOOK_BACKOFF = (0.05, 1.0)


def _json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type="application/json",
    )


async def _read_params(request: web.Request) -> JSON:
    raw: JSON = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return raw
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: parameters must be a JSON object")
        raw.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            posted = await request.post()
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
        for key, value in posted.items():
            if isinstance(value, web.FileField):
                raw[key] = Upload(value.filename, value.file.read())
            else:
                raw[key] = value
    return raw


def _bot_id(token: str) -> int | None:
    """The bot id a token starts with (tokens are '<bot id>:<secret>')."""
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else None


def _fault_error(fault: Fault) -> ApiError:
    if fault.kind == "retry_after":
        return ApiError(
            429, f"Too Many Requests: retry after {fault.retry_after}", retry_after=fault.retry_after
        )
    if fault.kind == "server_error":
        return ApiError(fault.status, SERVER_ERROR_PHRASES[fault.status])
    if fault.kind == "bad_request":
        return ApiError(400, fault.description)
    return ApiError(403, fault.description)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (the client sees 'server disconnected')."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


class EmulatorServer:
    """The emulator's HTTP server around one `World`; start() it, stop() it."""

    def __init__(self, world: World | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.world = world or World()
        self.host = host
        self._requested_port = port
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._deliverer: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What python-telegram-bot takes as base_url (it appends the token and method)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        app.router.add_route("*", "/_emulator/{operation}", self._control)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        self._deliverer = asyncio.create_task(self._deliver_webhooks(), name="emulator-webhook-delivery")
        _LOGGER.info("emulator.started")

    async def stop(self) -> None:
        """Wake every long poll (they answer at once), stop delivering, close the server."""
        self.world.close()
        if self._deliverer is not None:
            self._deliverer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._deliverer
            self._deliverer = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        _LOGGER.info("emulator.stopped")

    # --- the Bot API ----------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        world = self.world
        if not _TOKEN_SHAPE.fullmatch(request.match_info["token"]):
            return _json_response(NOT_FOUND.body(), 404)
        found = botapi.lookup(request.match_info["method"])
        name = found[0] if found else request.match_info["method"]
        try:
            params = Params(await _read_params(request), caller_bot_id=_bot_id(request.match_info["token"]))
        except ApiError as error:
            world.calls.record(name, None, error.status, "error", description=error.description)
            return _json_response(error.body(), error.status)
        chat_id = params.peek_chat_id()
        if world.latency:
            await world.pause(world.latency)
        if found is None:
            _LOGGER.warning("emulator.unknown_method method=%s (answered 404, as Telegram does)", name[:64])
            world.calls.record(
                name, chat_id, 404, "error", description=NOT_FOUND.description, params=params.raw
            )
            return _json_response(NOT_FOUND.body(), 404)

        fault = world.faults.take(name.lower(), chat_id)
        if fault is not None and not fault.after_processing:
            answered = await self._fault_first(request, name, chat_id, params, fault)
            if answered is not None:
                return answered

        body, status, applied, description = await self._call(found[1], name, params)

        kind = fault.kind if fault else None
        if fault is not None and fault.after_processing:
            _LOGGER.info("emulator.fault kind=%s method=%s after_processing", fault.kind, name)
            if fault.kind == "drop":
                world.calls.record(
                    name,
                    chat_id,
                    0,
                    "fault",
                    fault=kind,
                    applied=applied,
                    description=description,
                    params=params.raw,
                )
                return _drop(request)
            await world.pause(fault.seconds)
        outcome = "ok" if applied else "error"
        world.calls.record(
            name,
            chat_id,
            status,
            outcome,
            fault=kind,
            applied=applied,
            description=description,
            params=params.raw,
        )
        return _json_response(body, status)

    async def _fault_first(
        self, request: web.Request, name: str, chat_id: int | None, params: Params, fault: Fault
    ) -> web.StreamResponse | None:
        """A fault before the call: its answer (dropped, or an injected error), or None once delayed."""
        world = self.world
        _LOGGER.info("emulator.fault kind=%s method=%s", fault.kind, name)
        if fault.kind == "drop":
            world.calls.record(name, chat_id, 0, "fault", fault="drop", params=params.raw)
            return _drop(request)
        if fault.kind == "delay":
            await world.pause(fault.seconds)
            return None
        injected = _fault_error(fault)
        world.calls.record(
            name,
            chat_id,
            injected.status,
            "fault",
            fault=fault.kind,
            description=injected.description,
            params=params.raw,
        )
        return _json_response(injected.body(), injected.status)

    async def _call(
        self, method: botapi.Method, name: str, params: Params
    ) -> tuple[JSON, int, bool, str | None]:
        """Run a Bot API method: (answer body, HTTP status, whether it took effect, error description)."""
        try:
            result = await method(self.world, params)
        except ApiError as refused:
            return refused.body(), refused.status, False, refused.description
        except Exception as bug:  # an emulator bug must show as one, not as a silent hang or HTML page
            # The frames only: an exception's message may quote a user's text.
            frames = "".join(traceback.format_tb(bug.__traceback__))
            _LOGGER.error("emulator.bug method=%s error=%s\n%s", name, bug.__class__.__name__, frames)
            crashed = ApiError(500, f"Internal Server Error: emulator bug ({bug.__class__.__name__})")
            return crashed.body(), 500, False, crashed.description
        return {"ok": True, "result": result}, 200, True, None

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """A file download, as Telegram serves it: only a path getFile gave, to the bot owning the file,
        of at most 20 MB; anything else is 404."""
        token = request.match_info["token"]
        if not _TOKEN_SHAPE.fullmatch(token):
            return _json_response(NOT_FOUND.body(), 404)
        files = self.world.files
        stored = files.by_path.get(request.match_info["path"])
        if (
            stored is None
            or not stored.fetched
            or len(stored.content) > media.MAX_DOWNLOAD
            or files.for_bot(stored.file_id, _bot_id(token)) is None
        ):
            _LOGGER.info("emulator.file_refused")
            return _json_response(NOT_FOUND.body(), 404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return _json_response(NOT_FOUND.body(), 404)

    # --- control --------------------------------------------------------------------------------

    async def _control(self, request: web.Request) -> web.StreamResponse:
        body: JSON = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            try:
                posted = await request.json()
            except ValueError:
                return _json_response({"ok": False, "error": "the body must be a JSON object"}, 400)
            if not isinstance(posted, dict):
                return _json_response({"ok": False, "error": "the body must be a JSON object"}, 400)
            body.update(posted)
        try:
            result = await control.dispatch(self.world, request.match_info["operation"], body)
        except ControlError as error:
            return _json_response({"ok": False, "error": str(error)}, 400)
        return _json_response({"ok": True, "result": result})

    # --- webhooks -------------------------------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        """POST pending updates one at a time, oldest first, as long as a webhook is set."""
        world, backoff = self.world, WEBHOOK_BACKOFF[0]
        while not world.closing:
            hook = world.webhook
            ready = world.deliverable(1, hook.allowed_updates) if hook else []
            if hook is None or not ready:
                await world.updates_signal.wait(3600)
                continue
            update = ready[0]
            url = hook.url
            if world.webhook_targets:  # round robin; after a failure the next target is tried
                url = world.webhook_targets[world.webhook_turn % len(world.webhook_targets)]
                world.webhook_turn += 1
            error = await self._post_update(url, hook.secret_token, update)
            if error is None:
                world.pending = [u for u in world.pending if u["update_id"] != update["update_id"]]
                backoff = WEBHOOK_BACKOFF[0]
                continue
            hook.last_error_date, hook.last_error_message = unix_now(), error
            _LOGGER.info("emulator.webhook_failed")
            await world.updates_signal.wait(backoff)
            backoff = min(backoff * 2, WEBHOOK_BACKOFF[1])

    async def _post_update(self, url: str, secret: str | None, update: JSON) -> str | None:
        """None when the bot took the update, else Telegram's wording of what went wrong."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        started = time.monotonic()
        try:
            async with self._session.post(
                url,
                data=json.dumps(update).encode("utf-8"),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT),
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {_phrase(response.status)}"
        except TimeoutError:
            return f"Read timeout expired after {time.monotonic() - started:.0f} s"
        except aiohttp.ClientError as error:
            return f"Connection failed: {error.__class__.__name__}"
