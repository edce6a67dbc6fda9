"""Alerts: something went wrong that a supervisor must look at, told without any content.

An alert is a row (`sro alerts` lists it, the dashboard will show it) and a
Telegram message to every supervisor who can receive now, queued through
the outbox like any delivery and rendered from the catalog with only the
alert's kind and the case number. It never holds a message's text, an
officer's words, or anything about the student.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.delivery import outbox, routing
from storage.models import Alert, AlertKind, DeliveryKind, DeliveryPriority

__all__ = ["Alert", "AlertKind", "list_alerts", "raise_alert"]


async def raise_alert(
    session: AsyncSession,
    kind: AlertKind,
    now: datetime,
    *,
    case_id: int | None = None,
    officer_id: int | None = None,
) -> Alert:
    """Record an alert and queue its notice to the supervisors who can receive now."""
    alert = Alert(kind=kind, case_id=case_id, officer_id=officer_id, created_at=now)
    session.add(alert)
    await session.flush()
    supervisors = await routing.receivers_at(session, None, routing.SUPERVISORS, now)
    await outbox.queue(
        session,
        DeliveryKind.ALERT,
        supervisors,
        now,
        case_id=case_id,
        alert_id=alert.id,
        priority=DeliveryPriority.URGENT,
    )
    return alert


async def list_alerts(
    session: AsyncSession,
    *,
    kind: AlertKind | None = None,
    case_id: int | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> Sequence[Alert]:
    """Alerts oldest first; filtered by kind, case and time if given; the newest `limit` if given."""
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc())
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if case_id is not None:
        query = query.where(Alert.case_id == case_id)
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if limit is not None:
        query = query.limit(limit)
    return list(reversed((await session.scalars(query)).all()))


async def get_alert(session: AsyncSession, alert_id: int) -> Alert | None:
    return await session.get(Alert, alert_id)
