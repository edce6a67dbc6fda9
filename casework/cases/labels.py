"""Case labels: a harmless word with an emoji, picked at random when a case opens ("🦊 fox").

The discreet "you have a new message" notice names the label so a student
with several cases knows which one has news, without a code or any hint of
content on a lock screen. The label is not a secret that opens anything; it
is stored sealed beside the notification address all the same (`cases`).
"""

from __future__ import annotations

import secrets

# Animals, plants and weather: nothing that could hint at what a report is about. Each one short,
# distinct in sound and picture, and a plain word a 14-year-old knows.
LABELS: tuple[str, ...] = (
    "🦊 fox",
    "🐢 turtle",
    "🦉 owl",
    "🐝 bee",
    "🐧 penguin",
    "🦋 butterfly",
    "🐙 octopus",
    "🦒 giraffe",
    "🐳 whale",
    "🦔 hedgehog",
    "🐸 frog",
    "🦜 parrot",
    "🐨 koala",
    "🦓 zebra",
    "🐌 snail",
    "🦀 crab",
    "🌵 cactus",
    "🌻 sunflower",
    "🍄 mushroom",
    "🌈 rainbow",
    "⛄ snowman",
    "🌙 moon",
    "⭐ star",
    "🍋 lemon",
)


def new_label() -> str:
    return secrets.choice(LABELS)


# The same labels' words in French, for a student answered in French (the emoji says which is which,
# so the English notice "🦊 fox" and a French "🦊 renard" name the same case). Stored: the English.
FRENCH = {
    "fox": "renard",
    "turtle": "tortue",
    "owl": "hibou",
    "bee": "abeille",
    "penguin": "pingouin",
    "butterfly": "papillon",
    "octopus": "pieuvre",
    "giraffe": "girafe",
    "whale": "baleine",
    "hedgehog": "hérisson",
    "frog": "grenouille",
    "parrot": "perroquet",
    "koala": "koala",
    "zebra": "zèbre",
    "snail": "escargot",
    "crab": "crabe",
    "cactus": "cactus",
    "sunflower": "tournesol",
    "mushroom": "champignon",
    "rainbow": "arc-en-ciel",
    "snowman": "bonhomme de neige",
    "moon": "lune",
    "star": "étoile",
    "lemon": "citron",
}


def in_language(label: str, language: str) -> str:
    """A stored label as a student reads it: "🦊 renard" in French; unchanged otherwise (or unknown)."""
    if language != "fr":
        return label
    emoji, _, word = label.partition(" ")
    return f"{emoji} {FRENCH[word]}" if word in FRENCH else label
