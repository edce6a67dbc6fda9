"""The program's timing rules, built at start-up (bot, `sro`) and handed to the services that need them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class PolicySettings(Protocol):
    """The settings a policy is built from: app.settings.Settings has them (casework imports no settings)."""

    @property
    def urgent_ack_minutes(self) -> float: ...
    @property
    def remind_after_hours(self) -> float: ...
    @property
    def retention_days(self) -> int: ...
    @property
    def timezone(self) -> ZoneInfo: ...


@dataclass(frozen=True, slots=True)
class CasePolicy:
    urgent_ack: timedelta  # an urgent case unacknowledged this long goes up the chain
    remind_after: timedelta  # a non-urgent one gets a reminder, then goes up the chain
    retention: timedelta  # a closed case is purged this long after closing
    timezone: ZoneInfo  # whose calendar days statistics count in

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> CasePolicy:
        return cls(
            urgent_ack=timedelta(minutes=settings.urgent_ack_minutes),
            remind_after=timedelta(hours=settings.remind_after_hours),
            retention=timedelta(days=settings.retention_days),
            timezone=settings.timezone,
        )
