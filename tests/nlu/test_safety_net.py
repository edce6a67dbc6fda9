"""The lexical safety net: urgent phrases caught with slang and misspellings; everyday talk left alone.

The messages here are written for this test (not taken from the training or
held-out data), so they check the lexicon itself.
"""

from __future__ import annotations

import pytest

from nlu.safety_net import SafetyNet, prepare

net = SafetyNet()

URGENT = {
    "weapon": [
        "kid in 10th grade has a blicky in his hoodie",
        "yo sum1 got a shank in the caf",
        "he pulled out a switchblad in math",  # misspelt, caught by edit distance
        "my friend saw a GUN in his backpack!!!",
        "theres a guy w brass knucks at the plaza",
        "she carries bear spray to school and keeps threatening ppl w it",
        "he has a machetee in his locker",
        "pretty sure that was a replica gun but idk",
        "he showed me a 🔫 in the washroom",
        "guy brought a metal bat to the fight",
        "somebody has a knfie by the portables",
    ],
    "threat": [
        "he said hes gonna shoot up the school tmrw",
        "this kid keeps asking what time the gym is most packed and smiling about it",
        "theres a hit list going around with names on it",
        "someone wrote bomb in the bathroom stall and a date",
        "i heard he's bringing a strap to school monday",
        "dont come to school friday. thats all im saying",
        "this guy told me ill kill u after school",
        "a kid said he wants to kill everyone in our class",
        "theyll make them all pay, he posted that with a pic of the school",
        "he threatened to stab my friend",
        "someone said theres gonna be a school shooting",
    ],
    "self_harm": [
        "i want to kill myself",
        "i wanna die honestly",
        "im thinking about sucide",
        "i dont want to be alive anymore",
        "my friend is cutting again",
        "she said everyone would be better off without her",
        "kms fr this time",
        "i took a bunch of pills",
        "nobody would care if i died tbh",
        "i wrote a goodbye letter",
        "i cant do this anymore",
        "my friend keeps talking about ending it all",
        "i just want to sleep forever and never wake up",
        "thinking of unaliving myself",
        "she's been self harming for months",
    ],
    "abuse": [
        "my dad hits me when hes drunk",
        "my stepdad beats my little brother",
        "my mom's boyfriend choked me last night",
        "my parents kicked me out and im sleeping in a park",
        "im scared to go home",
        "theres never any food at home and my mom is gone for days",
        "my bf hits me when hes mad",
        "i have bruises from my dad",
    ],
    "sexual_harm": [
        "a guy keeps touching me in the hallway",
        "someone is threatening to post my nudes unless i pay",
        "my coach keeps texting me late at night saying im mature for my age",
        "i was raped at a party",
        "some guy sent me dick pics",
        "a teacher groped my friend",
        "someone filmed us in the change room",
        "he leaked her nudes in the group chat",
    ],
}

HARMLESS = [
    "this math test is killing me",
    "my mom is gonna kill me if i fail",
    "i killed it at the game last night",
    "im dead 💀",
    "we got destroyed in basketball",
    "can i bring a nerf gun for the drama play",
    "someone made a burner account to post about me",
    "my backpack strap broke",
    "i call shotgun",
    "i shot my shot lol",
    "the caf pizza is fire",
    "is the library open tmrw",
    "can i talk to the officer about a police check for volunteering",
    "hi",
    "thanks so much",
    "someone keeps stealing my airpods",
    "kids are vaping in the washroom",
    "somebody tagged the portable with graffiti",
    "they kicked me out of the group chat",
    "my gc kicked me out and made a new one just to roast me",
    "theres gonna be a fight at the plaza after school",
    "im so tired of homework",
    "my phone is dying",
    "i bombed that test",
    "he keeps calling me names in class",
    "we murdered them in volleyball",
]


@pytest.mark.parametrize(
    ("category", "text"), [(c, t) for c, texts in URGENT.items() for t in texts], ids=lambda v: str(v)[:40]
)
def test_urgent_phrase_is_caught(category: str, text: str) -> None:
    hits = net.check_all(text)
    assert category in {h.category for h in hits}, f"{text!r} -> {hits}"


@pytest.mark.parametrize("text", HARMLESS, ids=lambda v: v[:40])
def test_everyday_talk_is_not_urgent(text: str) -> None:
    assert net.check(text) is None


def test_the_reason_names_a_rule_not_the_text() -> None:
    hit = net.check("my friend has a strap in his bag")
    assert hit is not None
    assert hit.reason == "safety net: weapon/gun"
    assert "strap" not in hit.reason


def test_self_harm_comes_first_when_several_categories_fire() -> None:
    hit = net.check("he has a gun and i want to kill myself")
    assert hit is not None
    assert hit.category == "self_harm"


def test_normal_form_reads_leetspeak_contractions_and_emoji() -> None:
    assert prepare("He'll K1LL me 🔪!!!") == "he will kill me knife"
    assert prepare("im gonna") == "i am going to"


@pytest.mark.parametrize(
    "text", ["", "   ", "\x00\x01\x02", "🙂🙂🙂", "a" * 10_000, "Ça va? 你好 مرحبا", "\ufffd\ufffd"]
)
def test_odd_input_never_crashes(text: str) -> None:
    assert net.check_all(text) == []


def test_very_long_message_with_urgent_phrase_at_the_start() -> None:
    assert net.check("he has a knife " + "blah " * 3000) is not None
