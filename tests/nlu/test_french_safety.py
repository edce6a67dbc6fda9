"""The French safety lexicon (nlu/lexicon/fr.yml): urgent French caught with slang and misspellings.

The messages are written for this test (not taken from the training or held-out
data), so they check the lexicon itself. The net runs English and French on
every message, so code-switched messages are caught whichever language leads.
"""

from __future__ import annotations

import pytest

from nlu import safety_lexicon
from nlu.safety_net import SafetyNet, prepare

net = SafetyNet()
english_only = SafetyNet(safety_lexicon.load("en"))

URGENT = {
    "weapon": [
        "y'a un gars qui a un gun dans son sac",
        "le gars en 11e se promene avec un canif",
        "jsuis pas mal sure qu'il a un fusi dans son casier",
        "il a sorti un couteau papillon au dep",
        "un eleve est arme dans la cour la",
        "yo le gars est strappé ce matin",
        "ma chum dit que son frere garde des poings americains dans son coton ouaté",
        "il a apporté un bat de baseball pour attendre quelqu'un",
        "y'a une machete dans les bécosses",
        "il a un pistollet dans sa ceinture",  # misspelt, caught by edit distance
    ],
    "threat": [
        "j'vais le tuer demain, il m'a dit ça en face",
        "il dit qu'il va shooter l'école lundi",
        "il a écrit une liste noire avec nos noms",
        "alerte a la bombe dans les toilettes du 2e",
        "il m'a texté t'es mort après l'école",
        "il sait ou tu restes fais attention",
        "ils vont mettre le feu a l'ecole cette nuit",
        "y a une menace de mort contre un prof",
        "il parle d'une tuerie comme si c'était drôle",
    ],
    "self_harm": [
        "je veux me tuer",
        "jveux me suicider",
        "jpense que jvais en finir ce soir",
        "je me coupe encore les bras",
        "elle se scarifie depuis l'été",
        "j'ai pu le gout de vivre",
        "tout le monde serait mieux sans moi",
        "mon ami a écrit une lettre d'adieu",
        "j'ai avalé toute la bouteille de pilules",
        "jpeux pu, jveux mourir",
        "je pense au sucide tous les jours",  # misspelt
    ],
    "abuse": [
        "il me bat",
        "mon beau-pere me frappe quand il a bu",
        "ma mere m'a garroché une chaise",
        "mes parents me privent de manger comme punition",
        "jme suis fait mettre dehors par mon pere hier soir",
        "j'ai peur de rentrer chez nous",
        "mon chum m'a étranglée",
        "y'a de la violence conjugale chez nous",
        "mon oncle me tabasse",
    ],
    "sexual_harm": [
        "il y a eu des attouchements dans le vestiaire",
        "le coach m'envoie des textos le soir pis me dit que je suis belle",
        "un gars m'a pognée les fesses dans le corridor",
        "mon ex a partagé mes nudes",
        "qqn me fait du chantage avec des photos de moi",
        "je me suis fait violer au party",
        "il m'a forcée a l'embrasser",
        "un adulte me demande des photos sur snap",
        "ils ont baissé les shorts d'un gars au gym pour rire",
    ],
}

# Known false alarms, left alone because the net leans wide: English rules read French too,
# so "le meilleur gun dans fortnite" fires English's gun rule (its game exception says "in",
# not "dans") and "éducation sexuelle" is within two edits of English's fuzzy "sexually".
SAFE = [
    "salut",
    "merci bcp",
    "ma mere va me tuer si je rentre tard lol",
    "ce test de chimie va me tuer",
    "je suis mort de rire mdr",
    "on a tué la game hier au basket",
    "je me suis coupé les cheveux",
    "je me suis fait mal au genou au soccer",
    "il me bat toujours aux échecs",
    "le prof m'a mis à la porte de la classe",
    "j'ai acheté un fusil à eau pour l'été",
    "le meilleur fusil dans fortnite c'est quoi",
    "c'est la bombe ce show",
    "ca me touche beaucoup ton message merci",
    "j'ai fini mon projet, enfin",
    "y'a pas de bouffe végé à la caf",
    "on se battait pour rire dans l'autobus",
    "qqn a volé mon cell",
    "ya des gars qui vapent dans les toilettes",
    "est-ce que c'est anonyme?",
    "ma petite soeur me tue avec ses questions",
]


@pytest.mark.parametrize(
    ("category", "text"),
    [(category, text) for category, texts in URGENT.items() for text in texts],
    ids=lambda v: v[:40],
)
def test_urgent_french_is_caught(category: str, text: str) -> None:
    assert category in {hit.category for hit in net.check_all(text)}


@pytest.mark.parametrize("text", SAFE, ids=lambda v: v[:40])
def test_everyday_french_is_not_urgent(text: str) -> None:
    assert net.check(text) is None


def test_the_french_rules_are_what_catches_them() -> None:
    """Positive control: English rules alone miss most of these; the French lexicon is doing the work."""
    texts = [text for texts in URGENT.values() for text in texts]
    missed_by_english = [text for text in texts if english_only.check(text) is None]
    assert len(missed_by_english) > len(texts) // 2
    assert all(net.check(text) is not None for text in missed_by_english)


def test_a_french_hit_names_a_french_rule_not_the_text() -> None:
    hit = net.check("y'a un gars qui a un couteau dans son sac")
    assert hit is not None
    assert hit.reason == "safety net: weapon/fr-blade"
    assert "couteau" not in hit.reason


def test_french_normal_form_folds_accents_splits_elisions_and_spells_out_shorthand() -> None:
    french = safety_lexicon.load("fr")
    assert prepare("J'VAIS l'tuer, beau-père!!! 🔪", french) == "j vais l tuer beau pere couteau"
    assert prepare("jveux mourir chu tanné", french) == "je veux mourir je suis tanne"
    # English keeps its own form: the same text read by the English lexicon expands "ya" to "you".
    assert prepare("ya un gun", french) == "ya un gun"
    assert prepare("ya un gun", safety_lexicon.load("en")) == "you un gun"


def test_code_switched_message_is_caught() -> None:
    assert net.check("my friend said y'a un gars qui va shooter l'école") is not None
    assert net.check("bro jveux juste en finir honestly") is not None
