"""What can go wrong in the domain, as exceptions whose message a person can act on.

Every one derives from `CaseworkError`, so the bot and `sro` can catch the
family, show the message, and let anything else surface as a real bug.
Messages never contain case content, codes or Telegram ids.
"""

from __future__ import annotations


class CaseworkError(Exception):
    """A problem with the request, explained in the message."""


# --- codes (case codes and enrollment codes) -----------------------------------------


class InvalidCode(CaseworkError):
    """Not a code at all; see the two kinds below."""


class MalformedCode(InvalidCode):
    """Wrong length or characters: not something we ever issued."""


class BadCheckCharacter(InvalidCode):
    """Well formed but the check character disagrees: almost surely a typo."""


class UnknownCaseCode(CaseworkError):
    """A well-formed code that matches no case (never issued, or purged)."""


# --- cases ---------------------------------------------------------------------------------


class AccessDenied(CaseworkError):
    """The officer is not a recipient of that case (or the case does not exist)."""


class UnknownCase(CaseworkError):
    """No case with that number."""


class CaseClosed(CaseworkError):
    """The case is closed; it takes no more messages or status changes."""


class InvalidTransition(CaseworkError):
    """A status change the case's lifecycle does not allow."""


class NoRecipients(CaseworkError):
    """No officer and no supervisor exists who could ever read this case: it is not stored."""


class CannotReseal(CaseworkError):
    """No existing recipient's key is available to re-seal a case for a new officer."""


# --- schools and officers ----------------------------------------------------------------------


class UnknownSchool(CaseworkError):
    """No school with that code (or id)."""


class InactiveSchool(CaseworkError):
    """The school was removed (deactivated) and takes no new reports."""


class DuplicateSchoolCode(CaseworkError):
    """A school with that code already exists."""


class InvalidSchoolData(CaseworkError):
    """A school's name, code or board is empty, too long or badly formed."""


class SchoolImportError(CaseworkError):
    """A row of a schools CSV file is wrong; nothing was imported."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}; nothing was imported")
        self.line = line
        self.reason = reason


class UnknownOfficer(CaseworkError):
    """No officer with that id."""


class InactiveOfficer(CaseworkError):
    """The officer was deactivated."""


class InvalidOfficerData(CaseworkError):
    """An officer's name or role is empty, too long or unknown."""


class EnrollmentCodeRejected(CaseworkError):
    """The enrollment code is unknown, already used, or was replaced by a newer one."""


class EnrollmentCodeExpired(CaseworkError):
    """The enrollment code is older than 72 hours."""


class ChatAlreadyEnrolled(CaseworkError):
    """That Telegram chat already belongs to another officer."""


# --- case references -------------------------------------------------------------------------------


class MalformedReference(CaseworkError):
    """Not a case reference: `MRC-12`, `mrc12` or a bare number."""


class UnknownReference(CaseworkError):
    """None of this officer's cases has that reference."""


class AmbiguousReference(CaseworkError):
    """A bare number that several of this officer's cases carry; `references` lists them."""

    def __init__(self, references: list[str]) -> None:
        super().__init__(f"{len(references)} cases have this number")
        self.references = references


# --- keys ------------------------------------------------------------------------------------------


class MasterKeyError(CaseworkError):
    """The master key is missing, malformed, or does not open this database."""
