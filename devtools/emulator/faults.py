"""Programmable failures and the record of every Bot API call (for "delivered exactly once")."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

JSON = dict[str, Any]

FAULT_KINDS = ("retry_after", "server_error", "drop", "forbidden", "bad_request", "delay")
# A long poll is always in flight, so an unnamed method never means getUpdates:
# otherwise a fault meant for sendMessage would be eaten by whichever poll came first.
UNNAMED_EXCLUDES = frozenset({"getupdates"})
SERVER_ERROR_PHRASES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """One rule: which calls it hits, for how long, and what happens to them."""

    id: int
    kind: str
    method: str | None = None  # case-insensitive Bot API method name; None: every method but getUpdates
    chat_id: int | None = None  # only calls naming this chat_id
    times: int | None = 1  # calls left to hit; None: no limit (see seconds)
    until: float | None = None  # time.monotonic() after which it stops
    retry_after: int = 1  # retry_after
    status: int = 500  # server_error
    description: str = "Forbidden: bot was blocked by the user"  # forbidden, bad_request (give one)
    seconds: float = 0.0  # delay
    after_processing: bool = False  # drop/delay: the call takes effect, then the answer is lost or late
    hits: int = 0

    def active(self, now: float) -> bool:
        return (self.times is None or self.times > 0) and (self.until is None or now < self.until)

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method is None:
            if method in UNNAMED_EXCLUDES:
                return False
        elif self.method.lower() != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def view(self) -> JSON:
        data = asdict(self)
        data["active"] = self.active(time.monotonic())
        data.pop("until")
        return data


class FaultPlan:
    """Faults in the order they were added; the first active match takes a call."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(
        self,
        kind: str,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        times: int | None = 1,
        seconds: float | None = None,
        retry_after: int = 1,
        status: int = 500,
        description: str | None = None,
        after_processing: bool = False,
    ) -> Fault:
        """Add a rule. `seconds` bounds it in time (server_error for T s), or is the delay of `delay`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or null for no limit)")
        if kind == "server_error" and status not in SERVER_ERROR_PHRASES:
            raise ValueError(f"status must be one of {sorted(SERVER_ERROR_PHRASES)}")
        if kind == "retry_after" and retry_after < 1:
            raise ValueError("retry_after must be at least 1 second")
        fault = Fault(
            id=self._next_id,
            kind=kind,
            method=method,
            chat_id=chat_id,
            times=times,
            retry_after=retry_after,
            status=status,
            after_processing=after_processing,
        )
        if description is not None:
            fault.description = description
        if kind == "delay":
            if seconds is None or seconds <= 0:
                raise ValueError("a delay needs seconds > 0")
            fault.seconds = seconds
        elif seconds is not None:
            fault.until = time.monotonic() + seconds
        if kind == "bad_request" and not fault.description.startswith("Bad Request: "):
            raise ValueError("a bad_request fault needs a description starting 'Bad Request: '")
        if fault.times is None and fault.until is None and kind not in ("forbidden", "bad_request", "delay"):
            raise ValueError("give times or seconds: a fault without either would never end")
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def take(self, method: str, chat_id: int | None) -> Fault | None:
        """The fault this call meets, if any, counting it against the fault's budget."""
        now = time.monotonic()
        self._faults = [f for f in self._faults if f.active(now)]
        for fault in self._faults:
            if fault.matches(method, chat_id):
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def remove(self, fault_id: int) -> None:
        self._faults = [f for f in self._faults if f.id != fault_id]

    def clear(self) -> None:
        self._faults.clear()

    def views(self) -> list[JSON]:
        now = time.monotonic()
        return [f.view() for f in self._faults if f.active(now)]


@dataclass(frozen=True)
class Call:
    seq: int
    method: str
    chat_id: int | None
    status: int  # HTTP status answered; 0 when the connection was dropped
    outcome: str  # ok | error (a Telegram error answer) | fault (an injected failure)
    fault: str | None  # the injected fault's kind
    applied: bool  # the call took effect (a message was really sent, edited, ...)
    description: str | None  # Telegram's error description, for errors and faults
    at: float
    # The call's parameters as sent (a file as "<file>"), so tests can check how the bot asked,
    # e.g. that every message carrying a student's words had link previews disabled.
    params: dict[str, Any] = field(default_factory=dict)


def _loggable(params: Mapping[str, Any] | None) -> dict[str, Any]:
    plain = (str, int, float, bool, list, dict, type(None))
    return {k: v if isinstance(v, plain) else "<file>" for k, v in (params or {}).items()}


class CallLog:
    def __init__(self) -> None:
        self._calls: list[Call] = []

    def record(
        self,
        method: str,
        chat_id: int | None,
        status: int,
        outcome: str,
        *,
        fault: str | None = None,
        applied: bool = False,
        description: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        call = Call(
            len(self._calls) + 1,
            method,
            chat_id,
            status,
            outcome,
            fault,
            applied,
            description,
            time.time(),
            _loggable(params),
        )
        self._calls.append(call)

    def query(
        self, method: str | None = None, chat_id: int | None = None, outcome: str | None = None
    ) -> list[Call]:
        return [
            c
            for c in self._calls
            if (method is None or c.method.lower() == method.lower())
            and (chat_id is None or c.chat_id == chat_id)
            and (outcome is None or c.outcome == outcome)
        ]

    def clear(self) -> None:
        self._calls.clear()
