"""The program's timing rules, built at start-up (bot, `sro`) and handed to the services that need them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class CasePolicy:
    urgent_ack: timedelta  # an urgent case unacknowledged this long goes up the chain
    remind_after: timedelta  # a non-urgent one gets a reminder, then goes up the chain
    retention: timedelta  # a closed case is purged this long after closing
    timezone: ZoneInfo  # whose calendar days statistics count in
