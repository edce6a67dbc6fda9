"""Every table of the case store. Alembic migrations, not `create_all`, make the schema."""

from storage.models.base import Base
from storage.models.cases import (
    Case,
    CaseKind,
    CaseMessage,
    CaseRecipient,
    CaseStatus,
    Direction,
    Grant,
    KeyEnvelope,
    Outcome,
    RecipientKind,
)
from storage.models.delivery import Delivery, DeliveryKind, DeliveryStatus, Draft, RateLimit
from storage.models.directory import Assignment, AssignmentKind, EnrollmentCode, Officer, Role, School
from storage.models.records import (
    INTENT_STATS_CELL,
    AuditEvent,
    IntentStat,
    ProtectedMonth,
    ResponseMeasure,
    ResponseTime,
    ServerKey,
)

__all__ = [
    "INTENT_STATS_CELL",
    "Assignment",
    "AssignmentKind",
    "AuditEvent",
    "Base",
    "Case",
    "CaseKind",
    "CaseMessage",
    "CaseRecipient",
    "CaseStatus",
    "Delivery",
    "DeliveryKind",
    "DeliveryStatus",
    "Direction",
    "Draft",
    "EnrollmentCode",
    "Grant",
    "IntentStat",
    "KeyEnvelope",
    "Officer",
    "Outcome",
    "ProtectedMonth",
    "RateLimit",
    "RecipientKind",
    "ResponseMeasure",
    "ResponseTime",
    "Role",
    "School",
    "ServerKey",
]
