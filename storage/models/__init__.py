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
from storage.models.delivery import (
    Alert,
    AlertKind,
    Delivery,
    DeliveryKind,
    DeliveryPart,
    DeliveryPriority,
    DeliveryStatus,
    Draft,
    RateLimit,
)
from storage.models.directory import Assignment, AssignmentKind, EnrollmentCode, Officer, Role, School
from storage.models.evidence import EvidenceImage
from storage.models.intake import IntakeUpdate
from storage.models.languages import OfficerLanguage
from storage.models.links import FeedbackAnswer, FeedbackAsked, FeedbackCount, SchoolLink
from storage.models.pacing import PacingBucket
from storage.models.records import (
    INTENT_STATS_CELL,
    AuditEvent,
    IntentStat,
    KeyRotation,
    ProtectedMonth,
    ResponseMeasure,
    ResponseTime,
    ServerKey,
)
from storage.models.reply_modes import OfficerReplyMode
from storage.models.web import (
    ThrottleScope,
    WebAccount,
    WebAccountSchool,
    WebLoginFailure,
    WebRole,
    WebSession,
    WebSetupToken,
)

__all__ = [
    "INTENT_STATS_CELL",
    "Alert",
    "AlertKind",
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
    "DeliveryPart",
    "DeliveryPriority",
    "DeliveryStatus",
    "Direction",
    "Draft",
    "EnrollmentCode",
    "EvidenceImage",
    "FeedbackAnswer",
    "FeedbackAsked",
    "FeedbackCount",
    "Grant",
    "IntakeUpdate",
    "IntentStat",
    "KeyEnvelope",
    "KeyRotation",
    "Officer",
    "OfficerLanguage",
    "OfficerReplyMode",
    "Outcome",
    "PacingBucket",
    "ProtectedMonth",
    "RateLimit",
    "RecipientKind",
    "ResponseMeasure",
    "ResponseTime",
    "Role",
    "School",
    "SchoolLink",
    "ServerKey",
    "ThrottleScope",
    "WebAccount",
    "WebAccountSchool",
    "WebLoginFailure",
    "WebRole",
    "WebSession",
    "WebSetupToken",
]
