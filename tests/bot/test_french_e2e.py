"""French, end to end through the Bot API emulator: the student's choice or their first message sets the
language, every answer uses it, the officer gets the words as written marked French, and a French tip
prefers an officer who reads French. Fast tier (scripted model) but for the one test with the real Rasa."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
from sqlalchemy import select

from casework import officers
from casework.cases import drafts, labels
from devtools.emulator.views import Message
from nlu.result import NLU_FALLBACK, IntentScore
from storage.models import AssignmentKind, Base, Delivery, DeliveryKind, Role
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Officer, Student, World, now
from tests.bot.scripted import ScriptedClassifier
from tests.storage.fixtures import TestDatabase

MAPLE = "Maple Ridge Secondary School"
# Québécois / Franco-Ontarian slang, an anglicism, no accents on the elision: as students write it.
GUN = "y'a un gars qui a un gun dans son sac, il dit qu'il va tirer"
DRUGS = "yo y'a des gars qui vendent de la drogue aux casiers"
KNIFE = "a kid has a knife in his locker near room 204"
GUN_AGAIN = "y'a un gars avec un gun dans le stationnement"
PHONE = "someone keeps stealing phones from the gym change room"
REPLY = "Merci. Je suis à l'école maintenant. Reste en classe, t'as bien fait."
ANSWER = "ok merci, le gars est parti au bureau du direc"


FRENCH_TIME = re.compile(
    r"\b\d{1,2} (?:janv\.|févr\.|mars|avr\.|mai|juin|juill\.|août|sept\.|oct\.|nov\.|déc\.), \d{1,2} h \d\d\b"
)
UNSURE = "jsp si je devrais dire ça mais y'a du monde qui se niaise dans le bus"


def buttons(message: Message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]


async def start_in_french(student: Student) -> None:
    """/start, one tap on Français, the school."""
    welcome = await student.says("/start")
    assert buttons(welcome) == ["English", "Français"]
    assert "Which school" in (await student.then()).text  # English until the tap
    chosen = await student.taps(welcome, "Français")
    assert "je t'écris en français" in chosen.text
    assert "Tu vas à quelle école?" in (await student.then()).text
    picked = await student.choose_school("maple", MAPLE)
    assert "Qu'est-ce qui se passe?" in picked.text


async def test_a_student_picks_french_and_an_urgent_slang_report_gets_french_safety_information_at_once(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(GUN, "report_weapon", confidence=0.97)
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await start_in_french(student)
        safety = await student.says(GUN)
        assert "Si toi ou quelqu'un d'autre est en danger en ce moment, appelle le 911." in safety.text
        sent = await student.then()
        assert "Envoyé à l'agent de ton école" in sent.text
        code = CODE.search(sent.text)
        assert code
        details = await student.then()
        assert "Envoie /fini quand tu as terminé" in details.text
        done = await student.says("/fini")  # the French command name
        assert "Ton signalement est avec l'agent" in done.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "URGENT" in tip.text  # officer texts stay English
        assert "🇫🇷 Written in French (the student's words, not translated)" in tip.text
        assert GUN in tip.text  # as written, nothing translated
        assert "What happened:" in tip.text
        # The officer's reply reaches the student as written, and the student's answer the officer.
        await world.emu.press(officer, tip, "✍️ Reply")
        assert "Type your answer" in (await world.emu.next_message(officer, timeout=15)).text
        await world.emu.send_text(officer, REPLY)
        assert "Sent to the student" in (await world.emu.next_message(officer, timeout=15)).text
        status = await student.says(f"/statut {code.group()}")
        assert "👮 L'agent de ton école" in status.text
        assert REPLY in status.text
        prompt = await student.taps(status, "✍️ Répondre à l'agent")
        assert prompt.text == "Écris ta réponse à l'agent."
        assert "Envoyé" in (await student.says(ANSWER)).text
        answer = await world.emu.next_message(officer, timeout=15)
        assert "Written in French" in answer.text
        assert ANSWER in answer.text


async def test_a_student_who_writes_french_without_choosing_is_answered_in_french(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Detected from the first message; the interview reads the French place and time (never asked)."""
    world = scripted_world
    script.says(DRUGS, "report_drugs", confidence=0.95)
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        assert "What's going on?" in (await student.choose_school("maple", MAPLE)).text
        # "aux casiers" says where: the next question is when, in French.
        when = await student.says(DRUGS)
        assert when.text == "C'est arrivé quand?"
        danger = await student.says("hier à la récré")
        assert danger.text == "Est-ce que quelqu'un est en danger en ce moment?"
        assert buttons(danger) == ["Oui", "Non", "Je ne sais pas", "Passer"]
        more = await student.taps(danger, "Non")
        assert more.text == "Autre chose que l'agent devrait savoir?"
        preview = await student.taps(more, "Passer")
        assert "Voici ce qui sera envoyé à l'agent de ton école" in preview.text
        assert "Quand : hier à la récré" in preview.text
        assert buttons(preview) == ["✅ Envoyer", "✏️ Modifier", "✖️ Annuler"]
        sent = await student.taps(preview, "✅ Envoyer")
        assert "Envoyé à l'agent de ton école" in sent.text
        code = CODE.search(sent.text)
        assert code
        named = re.search(r"Ce dossier s'appelle (\S+) ([^.]+)\.", sent.text)
        assert named, sent.text
        assert named.group(2) in labels.FRENCH.values()  # "🦊 renard", not "🦊 fox"
        tip = await world.emu.next_message(officer, timeout=15)
        assert "Written in French" in tip.text
        assert DRUGS in tip.text
        assert "When: hier à la récré" in tip.text
        # /statut, with the date as a French reader writes it ("3 nov., 16 h 15").
        status = await student.says(f"/statut {code.group()}")
        assert "📋 Ton dossier (signalement, envoyé " in status.text
        assert FRENCH_TIME.search(status.text), status.text
        assert "Statut : envoyé, pas encore lu" in status.text or "Statut : lu par l'agent" in status.text


async def test_language_and_langue_switch_at_any_step_and_ask_again(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    script.says(PHONE, "report_theft", confidence=0.97)
    script.says(DRUGS, "report_drugs", confidence=0.95)
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", MAPLE)
        where = await student.says(PHONE)
        assert where.text == "Where did it happen?"
        ask = await student.says("/langue")
        assert buttons(ask) == ["English", "Français"]
        assert "Quelle langue veux-tu?" in ask.text
        assert "je t'écris en français" in (await student.taps(ask, "Français")).text
        assert (await student.then()).text == "C'est arrivé où?"  # the same question, now in French
        helped = await student.says("/aide")
        assert "/statut CODE" in helped.text
        assert "/confidentialite" in helped.text
        privacy = await student.says("/confidentialite")
        assert "Ce que SRO Connect garde" in privacy.text
        back = await student.says("/language")
        assert "I'll write in English" in (await student.taps(back, "English")).text
        assert (await student.then()).text == "Where did it happen?"
        # A tapped choice is kept: French words no longer switch the bot back.
        await student.says("/cancel")
        answered = await student.says(DRUGS)
        assert answered.text == "When did it happen?"


async def test_did_you_mean_and_the_command_menu_are_in_french(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """The unsure model's choices are named in French; a Telegram app set to French shows French
    commands (control: the default menu stays English)."""
    world = scripted_world
    ranking = (IntentScore("report_bullying", 0.41), IntentScore("report_fight", 0.33))
    script.says(UNSURE, NLU_FALLBACK, confidence=0.41, ranking=ranking)
    async with world.running():
        student = await new_student(world)
        await start_in_french(student)
        offer = await student.says(UNSURE)
        assert "Tu voulais dire" in offer.text
        assert buttons(offer) == ["De l'intimidation", "Une bagarre", "Autre chose"]
        french = await world.emu.commands(language_code="fr")
        assert ("statut", "Voir une réponse : /statut CODE") in french
        assert ("langue", "Français ou anglais") in french
        english = await world.emu.commands()
        assert ("status", "Check for an answer: /status CODE") in english
        assert ("language", "English or French") in english


async def test_a_french_tip_goes_to_the_officer_who_reads_french_an_english_one_to_both(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Two primaries at Maple; one reads French: the French tip goes to them alone. Controls: an English
    tip reaches both, and once nobody is named as reading French a French tip reaches both again."""
    world = scripted_world
    script.says(GUN, "report_weapon", confidence=0.97)
    script.says(KNIFE, "report_weapon", confidence=0.97)
    script.says(GUN_AGAIN, "report_weapon", confidence=0.97)
    async with world.database() as (db, keys), db.transaction() as session:
        second = await officers.create_officer(
            session, keys, display_name="Cst. Maple Francophone", role=Role.OFFICER, now=now()
        )
        await officers.assign(session, keys, second, "MRS", kind=AssignmentKind.PRIMARY, now=now())
        await officers.set_reads(session, second, "fr", reads=True, now=now())
        # Another school's officer named as reading French changes nothing at Maple.
        await officers.set_reads(session, world.officers["lakeshore"].id, "fr", reads=True, now=now())
    world.officers["maple_fr"] = Officer(second, "Cst. Maple Francophone")
    english_only = await world.enroll("maple")
    french_reader = await world.enroll("maple_fr")
    both = {world.officers["maple"].id, second}
    async with world.running():
        await urgent_report(world, GUN, french=True)
        tip = await world.emu.next_message(french_reader, timeout=15)
        assert "Written in French" in tip.text
        assert (await tip_receivers(world)) == [{second}]

        await urgent_report(world, KNIFE, french=False)  # control: English
        for officer in (english_only, french_reader):
            assert KNIFE in (await world.emu.next_message(officer, timeout=15)).text
        assert (await tip_receivers(world))[1] == both

        async with world.database() as (db, keys), db.transaction() as session:
            await officers.set_reads(session, second, "fr", reads=False, now=now())
        await urgent_report(world, GUN_AGAIN, french=True)  # control: nobody reads French
        for officer in (english_only, french_reader):
            assert GUN_AGAIN in (await world.emu.next_message(officer, timeout=15)).text
        assert (await tip_receivers(world))[2] == both


async def urgent_report(world: World, text: str, *, french: bool) -> None:
    """A new student sends an urgent report to Maple (in French after one tap, or in English)."""
    student = await new_student(world)
    if french:
        await start_in_french(student)
    else:
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", MAPLE)
    await student.says(text)
    assert CODE.search((await student.then()).text)


async def tip_receivers(world: World) -> list[set[int]]:
    """The officers each case's tip was queued for, by case in the order they were opened."""
    found: dict[int, set[int]] = defaultdict(set)
    async with world.database() as (db, _), db.transaction() as session:
        rows = await session.execute(
            select(Delivery.case_id, Delivery.officer_id).where(Delivery.kind == DeliveryKind.TIP)
        )
        for case_id, officer_id in rows.all():
            if case_id is not None and officer_id is not None:
                found[case_id].add(officer_id)
    return [found[case_id] for case_id in sorted(found)]


async def test_the_language_is_kept_only_sealed_in_the_pseudonymous_state(
    scripted_world: World, sqlite_database: TestDatabase
) -> None:
    """Nothing stored says a student writes French beside who they are: no column holds a student's
    language, and the bytes of the database (file, WAL) never show the state's language fields in
    the clear. Positive control: the sealed state, opened with the server keys, does hold them."""
    world = scripted_world
    async with world.running():
        student = await new_student(world)
        await start_in_french(student)
        await world.settled()
    languages = {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns if "lang" in c.name}
    assert languages == {("officer_languages", "language")}  # staff data: which officers read French
    stored = await stored_bytes(world, sqlite_database)
    for needle in (b"language_chosen", str(student.user.id).encode()):
        assert needle not in stored, needle
    async with world.database() as (db, keys), db.transaction() as session:
        state = await drafts.load_state(session, keys, keys.pseudonym(student.user.id), now())
    assert state is not None
    assert state["language"] == "fr"
    assert state["language_chosen"] is True
    assert b"language_chosen" in json.dumps(state).encode()  # the needle finds the plain state


async def stored_bytes(world: World, database: TestDatabase) -> bytes:
    """Every row's values and the SQLite files themselves."""
    parts: list[bytes] = []
    async with world.database() as (db, _), db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                parts += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    assert database.sqlite_path is not None
    for suffix in ("", "-wal", "-shm"):
        path = database.sqlite_path.with_name(database.sqlite_path.name + suffix)
        if path.exists():
            parts.append(path.read_bytes())
    return b"\n".join(parts)


@pytest.mark.rasa
async def test_with_the_real_model_french_slang_gets_french_safety_information_and_a_french_tip(
    world: World,
) -> None:
    """Issue 14's 'done when', with the real Rasa server and the real safety net: the model or the
    French lexicon must find the weapon in the slang."""
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await start_in_french(student)
        safety = await student.says(GUN)
        assert "appelle le 911" in safety.text
        assert "Envoyé à l'agent de ton école" in (await student.then()).text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "URGENT" in tip.text
        assert "Written in French" in tip.text
        assert GUN in tip.text
        # Written in French without choosing: answered in French.
        other = await new_student(world)
        await other.says("/start")
        await other.then()
        await other.choose_school("maple", MAPLE)
        answer = await other.says(GUN_AGAIN)
        assert "appelle le 911" in answer.text
