"""The dashboard's words, in one place (its message catalog, like admin/messages.py for `sro`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.models import ResponseMeasure

if TYPE_CHECKING:
    from web.figures import Figures

PRODUCT = "SRO Connect"
NO_CONTENT = "Counts only: nobody sees what a student wrote, here or anywhere else on this dashboard."
SYMBOLS_LEGEND = (
    "<5 means a count from 1 to 4; x means withheld so that a small count cannot be worked out; "
    "≥n means at least n (the sum of the parts that are shown)."
)
CHART_DESC = (
    "Bar chart of {what} ({scope}). Every bar is labelled with its number; the table below gives them all."
)

# Labels and buttons of the templates.
UI = {
    "email": "Email",
    "password": "Password",
    "code": "6-digit code from your authenticator app",
    "sign_in": "Sign in",
    "sign_out": "Sign out",
    "account": "Account:",
    "new_password": "New password (at least 12 characters)",
    "password_again": "The same password again",
    "scan": "Scan this code with an authenticator app (it was made on this server; nothing leaves it):",
    "qr_alt": "QR code for your authenticator app; the key is written below it",
    "type_key": "Or type this key into the app:",
    "code_now": "The 6-digit code the app shows now",
    "set_up": "Set up",
    "continue": "Continue",
    "pages": "Pages",
    "filters": "Filters",
    "school": "School",
    "all_schools": "All schools",
    "my_schools": "My schools",
    "from": "From",
    "to": "To",
    "by": "By",
    "show": "Show",
    "nothing": "Nothing to show for this period.",
    "import": "Import",
    "brand": "dashboard",
}

LOGIN_TITLE = "Sign in"
LOGIN_REFUSED = "That email, password or code is not right."
LOGIN_THROTTLED = "Too many attempts. Wait 15 minutes, then try again."
LOGIN_DEMO = "Local demo: no second factor is asked for here. A real dashboard always asks for one."
CSRF_REFUSED = "This form has expired or did not come from this dashboard. Reload the page and try again."
SETUP_TITLE = "Set up your account"
SETUP_GONE = "This setup link has expired or was already used. Ask your coordinator for a new one."
SETUP_DONE = "Your account is ready. Sign in."
SETUP_MISMATCH = "The two passwords are not the same."
NOT_FOUND = "There is no such page, or it is not yours to see."
IMPORT_DONE = "Imported: {added} added, {updated} updated, {skipped} unchanged."
IMPORT_UNREADABLE = (
    "This file cannot be read as CSV text in UTF-8 (a field may be far too long): nothing was imported."
)

ALL_MESSAGES = "All messages"
REPORTS = "Reports"
QUESTIONS = "Questions"
URGENT = "Urgent"
WILLING = "Reports and questions"
WEAPONS = "Weapons reports"
TO_ACK = "To acknowledgement"
TO_REPLY = "To first reply"
SCHOOL = "school"
TOP_HEADERS = ["intent", "messages"]
WILLINGNESS_HEADERS = ["month", "reports and questions", "questions to the officer"]
WEAPONS_HEADERS = ["month", "weapons reports"]
RESPONSES_HEADERS = ["school", "month", "measure", "median (min)", "90th percentile (min)"]
COVERAGE_HEADERS = ["code", "school", "status", "primary", "backup", "enrolled", "reachable", "covered"]
INDICATORS = {
    "weapons": "Weapons reports",
    "threats": "Threats to hurt people",
    "urgent": "Urgent messages",
    "answered": "“Did this help?” answered",
    "helped": "… of which “yes”",
    "anonymity": "Questions about anonymity",
    "questions": "Questions to the officer (informal contact)",
    "willing": "Reports and questions (willingness to report)",
    "reply": "Median time to a first reply",
}

OVERVIEW_TITLE = "Overview"
OVERVIEW_INTRO = (
    "The last settled months, then this month's weeks and days that are over. A day is shown from the "
    "day after next, and a month's total only once the month is over, so no two views can be "
    "subtracted to give one day's count."
)
MONTHLY_HEADING = "Messages per month: {scope}"
MONTHLY_WHAT = "reports, questions and urgent messages per month"
MONTHLY_HEADERS = ["month", "all messages", "reports", "questions", "urgent", "urgent share"]
RUNNING_HEADING = "This month, by {by} (complete ones only)"
RUNNING_NONE = "No day of this month is complete yet: days are shown from the day after next."
RUNNING_NOTE = "Complete through {complete}. Never a month-to-date total."
TOP_HEADING = "Top intents over these months: {scope}"

SCHOOLS_TITLE = "Schools and intents"
SCHOOLS_INTRO = "What students wrote about, school by school, over the period chosen (whole periods only)."
SCHOOLS_HEADING = "Schools × intents, {range}"
SCHOOLS_WHAT = "all messages and reports per school"

TRENDS_TITLE = "Trends"
TRENDS_INTRO = (
    "Willingness to report: reports plus questions each month. Questions to the officer are the "
    "informal contact the program's evaluations credited. And weapons reports over time."
)
WILLINGNESS_HEADING = "Reports and questions per month: {scope}"
WILLINGNESS_WHAT = "reports and questions per month"
WEAPONS_HEADING = "Weapons reports per month: {scope}"
WEAPONS_WHAT = "weapons reports per month"

RESPONSES_TITLE = "Response times"
RESPONSES_INTRO = (
    "Median and 90th percentile, in minutes, from a report to its acknowledgement and to the first "
    "reply. Shown only over at least 10 cases and rounded to 5 minutes, so no single case's time can "
    "be read off."
)
RESPONSES_HEADING = "Response times per school and month"
RESPONSES_CHART = "Median response times, {month}"
RESPONSES_WHAT = "median minutes to acknowledgement and to first reply per school"
RESPONSES_NOTE = "No school had 10 or more cases in a month yet: nothing can be shown."
MEASURES = {
    ResponseMeasure.ACKNOWLEDGEMENT: "to acknowledgement",
    ResponseMeasure.FIRST_REPLY: "to first reply",
}

EVALUATION_TITLE = "Program evaluation"
EVALUATION_INTRO = (
    "The program's three objectives, each with its indicators, the latest settled month against the "
    "one before. Print this page for a report."
)
OBJECTIVES = (
    "Safety, real and perceived, in and around schools",
    "Students' perception of police",
    "The relationship between students and police",
)
EVALUATION_HEADING = "Objectives and indicators: {scope}"
EVALUATION_NOTE = (
    "“Did this help?” is the one question a student may answer once their case is closed. "
    "Answers are counted per school and month, never per case, and protected like every other count."
)

COVERAGE_TITLE = "Schools and officers"
COVERAGE_INTRO = (
    "Which schools have an officer who can receive a tip. Read-only: inviting, assigning and "
    "deactivating officers stay with the operator's sro command, which holds the keys."
)
COVERAGE_HEADING = "Coverage, as recorded in the directory"
COVERAGE_NOTE = "Enrolled: the officer has joined in Telegram. Reachable: Telegram still delivers to them."
# The directory's rows are authenticated with a key derived from the master key, which the dashboard
# never holds: it shows them as recorded, and says so. The bot checks them before it sends anything.
COVERAGE_UNVERIFIED = (
    "As recorded in the officer directory; not verified here. The dashboard holds no key to check the "
    "directory's authentication: the bot verifies each officer's row before it sends them anything, "
    "and sro officer list shows any row that fails."
)
POSTERS_HEADING = "Posters"
POSTERS_HELP = (
    "A printable poster per school, with a QR code that opens the bot with that school already chosen "
    "(students can still change it)."
)
IMPORT_HEADING = "Import a school list"
IMPORT_HELP = "A CSV file with the columns name,code and optionally board (as sro school import)."


def range_of(figures: Figures) -> str:
    periods = figures.periods
    if not periods:
        return "no complete period"
    return f"{periods[0].start} to {periods[-1].end}"


def evaluation_headers(before: str, latest: str) -> list[str]:
    return ["objective", "indicator", before or "previous", latest or "latest", "change"]
