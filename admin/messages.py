"""Every text `sro` prints, in one place so wording can be reviewed (and translated) together."""

from __future__ import annotations

APP_HELP = (
    "Administer SRO Connect: schools, officers, statistics, retention and keys. "
    "Reads DATABASE_URL and SRO_MASTER_KEY / SRO_MASTER_KEY_FILE like the bot."
)
ERROR = "error: {message}"
UNEXPECTED = (
    "sro stopped on an internal fault (a bug, not your input); a transaction in progress was undone. "
    "Run the command again with SRO_DEBUG=1 set to see the details, and report them"
)
DEMO_HELP = "Use the demo's database and key file (var/demo.db, var/demo-master.key) instead of DATABASE_URL."
NO_DEMO = "there is no demo database at {path}: start the demo once with `make run`, then try again"
BAD_SETTING = "the setting {name} is invalid: {problem}. Correct {name} in the environment or in .env"
TAMPERED = (
    "stored data failed authentication ({reason}); it may have been tampered with: restore the "
    "database from your backup, and check who can write to it"
)
NO_SCHEMA = (
    "the database has no tables yet: run `sro db upgrade` first (check DATABASE_URL if it should have)"
)
DATABASE_UNREACHABLE = (
    "cannot open the database: check DATABASE_URL (and that the database server is running), then try again"
)

DB_HELP = "The database schema."
DB_UPGRADE_HELP = "Create or upgrade the schema to the newest migration (safe to repeat)."
DB_UPGRADED = "Database schema is at revision {revision}."

SCHOOL_HELP = "Schools: add, list, remove (deactivate), import from CSV."
SCHOOL_ADD_HELP = "Add one school."
SCHOOL_ADDED = "Added school {code} ({name})."
SCHOOL_LIST_HELP = "List schools, removed ones included."
SCHOOL_REMOVE_HELP = "Remove (deactivate) a school: it takes no new reports; its cases and statistics stay."
SCHOOL_REMOVED = "Removed school {code}: no new reports; its cases and statistics are kept."
SCHOOL_IMPORT_HELP = (
    "Import schools from a CSV file with the header name,code (and optionally board), separated by "
    "commas or semicolons. All or nothing: the first bad row is reported with its line number and no "
    "school is added. A code already there stops the import, unless --update or --skip-existing."
)
SCHOOL_IMPORT_UPDATE_HELP = "Schools whose code already exists get the file's name and board."
SCHOOL_IMPORT_SKIP_HELP = "Schools whose code already exists are left as they are."
SCHOOL_IMPORT_BOTH_MODES = "give --update or --skip-existing, not both"
SCHOOL_IMPORTED = "Imported {added} from {file} ({updated} updated, {unchanged} already there unchanged)."
SCHOOL_LINK_HELP = (
    "The school's deep link (https://t.me/<bot>?start=<token>), the one its posters' QR code holds: "
    "opening it in Telegram preselects the school. --new replaces the token (posters printed before "
    "then open the usual welcome)."
)
SCHOOL_LINK_NEW_HELP = "Replace the school's token first (audit-logged): older posters stop preselecting it."
SCHOOL_LINK = "{code}: {link}"
SCHOOL_LINK_NO_BOT = (
    "{code}: start token {token} (set TELEGRAM_BOT_USERNAME to the bot's username to print the whole "
    "link: https://t.me/<username>?start={token})"
)
SCHOOL_LINK_REPLACED = "Replaced: posters printed before no longer preselect {code}; print new ones."
FILE_MISSING = "there is no file {file}: check the name and folder (e.g. `ls {file}`)"
FILE_IS_DIRECTORY = "{file} is a folder, not a file: give the CSV file inside it"
FILE_NOT_ALLOWED = "you may not read {file}: check its permissions, or copy it somewhere you can read"
FILE_NOT_UTF8 = (
    '{file} is not UTF-8 text: save it again as "CSV UTF-8" (in Excel: Save As, CSV UTF-8) and retry'
)
FILE_UNREADABLE = "{file} cannot be read: check that it is a plain file you may read, then retry"
NO_SCHOOLS = "No schools yet: add one with `sro school add` or `sro school import schools.sample.csv`."

OFFICER_HELP = "Officers: invite, list, deactivate, assign to and unassign from schools, languages read."
OFFICER_INVITE_HELP = (
    "Invite a new officer (--name, --school) or re-issue a code for an existing one (--officer ID, "
    "e.g. a new phone). Prints a one-time enrollment code, valid 72 hours; the last line is the code alone."
)
# A directory row that fails its MAC (casework.vault.directory_auth): written by someone without
# the master key.
OFFICER_RECORD_FORGED = "{name} [FORGED: fails its authentication, receives nothing]"
OFFICER_ASSIGNMENT_FORGED = "{code} ({kind}) [FORGED: ignored]"
OFFICER_INVITED = "Officer {officer_id} ({name}, {role}){school}. Enrollment code, valid until {expires} UTC:"
OFFICER_INVITE_NEEDS = "give either --name (with --school, unless --supervisor) or --officer ID"
OFFICER_INVITE_CONFLICT = "--officer re-issues a code: it takes no --name, --school, --backup or --supervisor"
OFFICER_LIST_HELP = "List officers: ids, schools, roles, languages read, whether enrolled, whether reachable."
NO_OFFICERS = "No officers yet: invite one with `sro officer invite --name NAME --school CODE`."
OFFICER_DEACTIVATE_HELP = (
    "Deactivate an officer: assignments end, their chat is forgotten, their access to cases is revoked."
)
OFFICER_DEACTIVATED = "Deactivated officer {officer_id}; access to {cases} cases revoked."
OFFICER_ASSIGN_HELP = (
    "Assign an officer to a school (primary, or --backup). With --with-history the school's open "
    "cases are re-sealed for them (audit-logged); without it they see only new cases."
)
OFFICER_ASSIGNED = (
    "Assigned officer {officer_id} to {code} as {kind}; {resealed} open cases re-sealed for them."
)
OFFICER_UNASSIGN_HELP = "End an officer's assignment to a school and revoke their access to its cases."
OFFICER_UNASSIGNED = "Unassigned officer {officer_id} from {code}; access to {cases} cases revoked."
OFFICER_READS_HELP = (
    "Name an officer as reading French (--french) or no longer (--no-french). A tip a student wrote in "
    "French goes first to the officers of its link (primaries, backups or supervisors) who read French, "
    "when that link has any; it never skips a link. Audit-logged."
)
OFFICER_READS = "Officer {officer_id} reads: {languages}."
OFFICER_READS_ENGLISH = "English"
OFFICER_READS_FRENCH = "English, French"

STATS_HELP = (
    "Aggregated intents per school and period, and response times, with disclosure control.\n\n"
    "Periods are whole calendar days, weeks or months in SRO_TIMEZONE; --from and --to are widened to "
    "whole periods and the output says which range was used. Weeks start on Monday and are cut at month "
    "boundaries (a week across two months is two periods), so that days, weeks and months nest: that is "
    "what keeps queries at different --by from being subtracted from one another.\n\n"
    "Only complete periods are shown. A day is complete from the day after next (a count made just "
    "before midnight may be saved just after it); a week or month when its last day is. So the month "
    "still running shows its complete days (--by day) and weeks (--by week), each protected like any "
    "other, but never a total of the month so far: it could be subtracted from the next day's total to "
    "give one day's count. Every output says which periods are complete.\n\n"
    'Symbols: <5 = a count from 1 to 4 (the string "<5" in JSON); x = withheld so that no small count '
    'can be worked out from the other numbers ("x" in JSON; it may stand for any count of 1 or more). '
    "A total is shown only when no small count can be computed from it. Response times need at least "
    "10 cases."
)
STATS_FROM_HELP = "First day (default: the first day of the newest settled month)."
STATS_TO_HELP = "Last day (default: the newest complete day, the day before yesterday)."
STATS_RANGE = "Statistics by {by} from {first} to {last} (whole periods, {zone})."
STATS_COMPLETE = (
    "Every period shown is complete: its last day is over and its numbers no longer change "
    "(the newest complete day is {complete})."
)
STATS_RUNNING_MONTH = (
    "* marks a complete period of {months}, a month still running: its numbers are final, protected "
    "like any other; the month's own total is shown from {when}, once the month is over."
)
STATS_NOT_OVER = (
    "Not shown, not over yet: {periods}. A period is shown from the second day after its last day "
    "({when} for the first of these)."
)
STATS_SEE_DAYS = (
    "Its complete days are shown with --by day (and complete weeks with --by week), not as a {by} so far."
)
STATS_NOTHING = "Nothing to show: no complete period in that range (the newest complete day is {complete})."
STATS_BAD_DATE = "{option} {value!r} is not a day: write it as YYYY-MM-DD, e.g. 2026-09-30"
STATS_NO_SUCH_MONTH = "{option} {value} is not a date: there is no month {month} (months are 01 to 12)"
STATS_NO_SUCH_DAY = "{option} {value} is not a date: {month} has {days} days"
STATS_LEGEND = "<5: from 1 to 4.  x: withheld so that small counts cannot be worked out."
STATS_TIMES_TITLE = "Response times in minutes, rounded to 5 (shown from 10 cases)"
STATS_ALL_INTENTS = "All intents"
STATS_URGENT = "Urgent"
STATS_TOTAL = "Total"

FEEDBACK_HELP = (
    'Students\' answers to "Did this help?" (asked once after a case is closed), per school and '
    "settled month, protected like `sro stats`: <5 = a count from 1 to 4; x = withheld so that no "
    "small count can be worked out. Answers are never linked to a case."
)
FEEDBACK_FROM_HELP = "First month (a day in it; default: the newest settled month)."
FEEDBACK_TO_HELP = "Last month (a day in it; default: the newest settled month)."
FEEDBACK_NOTHING = (
    "Nothing to show: no settled month in that range (a month is shown from the 2nd of the next)."
)
FEEDBACK_TITLE = "Did this help? {first:%Y-%m} to {last:%Y-%m}"
FEEDBACK_ALL = "ALL"
FEEDBACK_NO_SCHOOL = "(none)"
FEEDBACK_COLUMNS = ("school", "month", "👍 helped", "👎 did not", "🤷 not sure", "answers")

PURGE_HELP = "Delete closed cases past their retention date (RETENTION_DAYS after closing); audit-logged."
PURGED = "Purged {count} closed cases past their retention date."

KEYS_HELP = "The master key."
KEYS_GENERATE_HELP = "Print a new random master key (for SRO_MASTER_KEY or its file). Changes nothing."
KEYS_ROTATE_HELP = (
    "Re-key: a new master key, new officer key pairs and new server keys (all but the case-code "
    "lookup key), every envelope, sealed address and MAC re-made; drafts, rate limits and unused "
    "enrollment codes dropped. Messages are re-wrapped in batches while the bot keeps working; "
    "run again to resume an interrupted rotation. With a key file, the file is replaced and the "
    "old key is NOT kept: archive it offline first if old backups must stay readable. With "
    "SRO_MASTER_KEY, the new key is printed once."
)
KEYS_ROTATE_CONFIRM = (
    "Rotate every key now? Backups taken before the rotation will need the current master key: "
    "archive it offline first if you want them readable."
)
KEYS_ROTATE_BEGUN = (
    "Key version {version}: {officer_keys} officer key pairs and {server_keys} server keys made "
    "({addresses} notification addresses re-sealed; dropped {drafts} drafts, {rate_limits} rate "
    "limits, {codes} unused enrollment codes). Re-wrapping messages..."
)
KEYS_ROTATE_RESUMING = "A rotation is in progress: resuming its re-wrap."
KEYS_ROTATED_FILE = (
    "Rotated to key version {version}: {messages} messages re-wrapped, previous keys deleted. "
    "The new key is in {file}; no copy of the old one is kept on this server. Back up the new key."
)
KEYS_NEW_ENV = (
    "New master key (shown once). Put it in SRO_MASTER_KEY for the bot and for `sro`, and in your backup, "
    "BEFORE anything else — the database is being re-sealed under it now:"
)
KEYS_ROTATED_ENV = (
    "Rotated to key version {version}: {messages} messages re-wrapped, previous keys deleted. "
    "The old key no longer opens anything written from now on. "
    "Set SRO_MASTER_KEY to the key above everywhere and restart the bot."
)
KEYS_ROTATE_FAILED_ENV = "Rotation failed; nothing changed. The key printed above is NOT in use: discard it."
KEYS_STALE_MESSAGES = "{count} stored messages failed their authentication and stay refused (`sro alerts`)."

AUDIT_HELP = (
    "Counts of audit events per action and period. With --case N, that one case's timeline "
    "(who read, acknowledged, replied, escalated or closed it, and when); the look is itself audited."
)
AUDIT_CASE_HELP = (
    "Show this one case's timeline, with officers' names (recorded in the case's audit trail): "
    "its reference as officers see it (MRC-12) or its internal number."
)
AUDIT_BY_HELP = "The period counts are grouped by (UTC)."
AUDIT_PROGRAM_HELP = (
    "List the events about no case: schools, officers, assignments, keys and purges (who and when)."
)
AUDIT_LIMIT_HELP = "With --program: at most this many events (the newest)."
AUDIT_PERIOD = "{by} (UTC)"
AUDIT_COUNTS_ONLY = (
    "Counts only: one case's timeline is shown with --case N (that look is audited); "
    "the program's own events (officers, schools, keys) with --program."
)
AUDIT_TIMELINE_TITLE = "Case {case}"
AUDIT_VIEW_RECORDED = "This look was recorded in the case's audit trail."
NO_EVENTS = "No audit events."

ALERTS_HELP = (
    "Alerts: messages Telegram refused even as plain text, tampered or forged records, cases that "
    "reached no officer. Kinds and case references only, never content. Oldest first."
)
ALERTS_KIND_HELP = "Only alerts of this kind."
ALERTS_LIMIT_HELP = "At most this many (the newest)."
NO_ALERTS = "No alerts."
ALERTS_NO_CONTENT = "Alerts never hold what anyone wrote: read a case with /case in Telegram."

ADMIN_HELP = (
    "Dashboard accounts: add (prints a one-time setup link), list, disable, reset. "
    "Accounts see protected statistics only, never a case."
)
ADMIN_ADD_HELP = "Add a dashboard account and print its one-time setup link (valid {hours} hours, once)."
ADMIN_NAME_HELP = "The person's name, as the dashboard greets them."
ADMIN_EMAIL_HELP = "Their email: what they sign in with."
ADMIN_ROLE_HELP = "coordinator: every school; school: only the schools given with --school."
ADMIN_SCHOOL_HELP = "A school this account sees (its code); repeat for several. Only with --role school."
ADMIN_ADDED = "Added {role} account {email}. Send them this link (valid {hours} hours, works once):\n{link}"
ADMIN_LIST_HELP = "List dashboard accounts: role, schools, whether set up, active, last login."
ADMIN_NO_ACCOUNTS = "No dashboard accounts yet: add one with `sro admin add`."
ADMIN_DISABLE_HELP = "Disable an account: no more logins, and every open session is signed out now."
ADMIN_DISABLED = "Disabled {email}; their sessions are signed out."
ADMIN_RESET_HELP = (
    "Reset an account's password and second factor (signing it out everywhere) and print a new setup link."
)
ADMIN_RESET_DONE = "Reset {email}. Send them this new link (valid {hours} hours, works once):\n{link}"
ADMIN_WEB_KEY_HELP = (
    "Make the dashboard's web key in a new file only you may read (set WEB_KEY_FILE to it for the "
    "dashboard and for sro). It seals second factors and binds accounts; it is not the master key."
)
ADMIN_WEB_KEY_PATH_HELP = "Where to write it (a new file: an existing one is never replaced)."
ADMIN_WEB_KEY_DONE = (
    "Wrote a new web key to {path} (mode 600). Set WEB_KEY_FILE={path} for the dashboard and for sro; "
    "accounts bound with another key need `sro admin reset`."
)
ADMIN_WEB_KEY_EXISTS = "{path} exists already: it is never replaced (remove it first if you mean to)."
ADMIN_UNVERIFIED = "NO: changed outside sro (reset it)"
