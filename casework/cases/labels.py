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
