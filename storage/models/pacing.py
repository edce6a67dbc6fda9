"""Telegram's pacing shared by the bot instances on one PostgreSQL (issue 11): one row per bucket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class PacingBucket(Base):
    """A leaky bucket (GCRA): `free_at` is when it is empty again, every slot reserved so far sent.

    Buckets: "overall" (the bot's ~30 messages/s), "paused" (a RetryAfter from Telegram: no instance
    sends before `free_at`), and one per chat under a keyed hash of the chat id and the hour (its own
    domain, so it joins nothing else, and no link from one hour to the next). Exact times are needed
    to pace, so a row lives only while it says something: once `free_at` has passed it is no
    different from no row, and the instances delete it.
    """

    __tablename__ = "pacing_buckets"

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    # No index on free_at: the table holds a few rows at a time (a scan is cheap), and an unindexed
    # column lets PostgreSQL update the hot "overall" row in place (a HOT update) on every send.
    free_at: Mapped[datetime] = mapped_column(UTCDateTime)
