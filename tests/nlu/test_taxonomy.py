"""What the taxonomy says of an intent, so that callers ask it instead of reading names."""

from __future__ import annotations

from nlu import taxonomy


def test_reports_are_the_report_intents_of_the_contract() -> None:
    reports = {name for name in taxonomy.intent_names() if taxonomy.is_report(name)}
    # shared/intents.md names every report `report_*`; 13 of them today.
    assert reports == {name for name in taxonomy.intent_names() if name.startswith("report_")}
    assert len(reports) == 13
    assert not taxonomy.is_report("ask_officer")
    # A name outside the contract is no report, whatever it looks like.
    assert not taxonomy.is_report("report_made_up")
