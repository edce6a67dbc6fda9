"""What handlers need (database, keys, classifier, policy), reached through a typed context.

Created in the application's `post_init` and closed in `post_shutdown`
(python-telegram-bot's contexttypesbot habit): no module globals, no string
keys in `bot_data`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from app.settings import LOCAL_MASTER_KEY_FILE, Settings
from casework.cases.intake_batch import CaseBatcher
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from casework.vault.master_key import load_master_key
from nlu.classifier import IntentClassifier, build_classifier
from nlu.safety_net import SafetyNet
from storage.db import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    db: Database
    keys: KeyRing
    policy: CasePolicy
    classifier: IntentClassifier
    safety_net: SafetyNet = field(default_factory=SafetyNet)
    clock: Callable[[], datetime] = utc_now
    # Set when something was queued for delivery, so the sender does not wait for its next poll.
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when the bot is stopping: background work finishes what it started (a tip sent is
    # recorded as sent, so a restart does not send it twice) and takes nothing new.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Made on first use, in the event loop that uses it (casework.cases.intake_batch).
    _cases: CaseBatcher | None = field(default=None, init=False, repr=False)

    def now(self) -> datetime:
        return self.clock()

    @property
    def cases(self) -> CaseBatcher:
        """Opens the cases students send at the same moment together, each answered after the commit."""
        if self._cases is None:
            self._cases = CaseBatcher(self.db, self.keys, self.policy)
        return self._cases

    @classmethod
    async def start(cls, settings: Settings, classifier: IntentClassifier | None = None) -> Services:
        """Connect to the database, unseal the keys, load the classifier."""
        db = Database.connect(settings.database_url)
        master = load_master_key(settings, local_key_file=LOCAL_MASTER_KEY_FILE)
        async with db.transaction() as session:
            keys = await KeyRing.load(session, master, utc_now())
        if classifier is None:
            classifier = await asyncio.to_thread(
                build_classifier,
                settings.nlu_urls or settings.nlu_url,
                settings.nlu_token.get_secret_value(),
                settings.nlu_timeout_seconds,
            )
        return cls(settings, db, keys, CasePolicy.from_settings(settings), classifier)

    async def close(self) -> None:
        aclose = getattr(self.classifier, "aclose", None)
        if aclose is not None:
            await aclose()
        await self.db.close()


class ServiceSlot:
    """The application's `bot_data`: python-telegram-bot creates it empty; post_init fills it."""

    def __init__(self) -> None:
        self.services: Services | None = None


class BotContext(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], ServiceSlot]):
    """The context every handler receives, with the services typed."""

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are not started yet (post_init has not run)")
        return services


# The job queue is unused (timed work is database-driven, see bot.jobs): typed as Any.
BotApplication = Application[ExtBot[int], BotContext, dict[Any, Any], dict[Any, Any], ServiceSlot, Any]
