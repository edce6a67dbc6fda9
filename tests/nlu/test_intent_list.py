"""The intent list lives in one place (labels.yml): Rasa's domain is derived from it, and the data agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nlu import taxonomy
from nlu.training_data import DATA_DIR, NLUData, load, load_dir

ROOT = Path(__file__).resolve().parents[2]
# Data scored against the model: every intent they name must be one of the contract's.
SCORED = [
    ROOT / "tests" / "nlu" / "heldout.yml",
    ROOT / "tests" / "nlu" / "heldout_fr.yml",
    ROOT / "nlu" / "dev" / "hard.yml",
]


def disagreements(labels: list[str], domain: dict[str, Any], data: NLUData) -> list[str]:
    """What `rasa data validate` would object to in the intents and entities, in plain words."""
    found = []
    if domain.get("intents") != labels:
        found.append("the domain's intents are not labels.yml's, in its order")
    if missing := sorted(set(labels) - set(data.intents)):
        found.append(f"intents with no training example: {missing}")
    if unknown := sorted(set(data.intents) - set(labels)):
        found.append(f"intents in the data but not in labels.yml: {unknown}")
    annotated = {entity.entity for example in data.examples for entity in example.entities}
    if undeclared := sorted(annotated - set(domain.get("entities") or [])):
        found.append(f"entities annotated but not in the domain: {undeclared}")
    return found


def test_the_domain_the_labels_and_the_training_data_agree() -> None:
    labels = list(taxonomy.intents())
    assert disagreements(labels, taxonomy.rasa_domain(), load_dir(DATA_DIR)) == []


def test_the_check_sees_each_kind_of_disagreement() -> None:
    # Positive control: the same check flags a drifted domain, a new label with no data, an unlabelled
    # intent in the data, and an entity the domain does not declare.
    labels = list(taxonomy.intents())
    domain = taxonomy.rasa_domain()
    data = load_dir(DATA_DIR)
    new = [*labels, "report_littering"]
    assert disagreements(labels, {**domain, "intents": labels[:-1]}, data) == [
        "the domain's intents are not labels.yml's, in its order"
    ]
    assert disagreements(new, {**domain, "intents": new}, data) == [
        "intents with no training example: ['report_littering']"
    ]
    assert disagreements(labels[1:], {**domain, "intents": labels[1:]}, data) == [
        f"intents in the data but not in labels.yml: ['{labels[0]}']"
    ]
    assert disagreements(labels, {**domain, "entities": ["weapon"]}, data) == [
        "entities annotated but not in the domain: ['location']"
    ]


def test_domain_yml_lists_no_intents_of_its_own(tmp_path: Path) -> None:
    assert "intents" not in yaml.safe_load(taxonomy.DOMAIN_FILE.read_text(encoding="utf-8"))
    second_list = tmp_path / "domain.yml"
    second_list.write_text('version: "3.1"\nintents: [greet]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="listed once"):
        taxonomy.rasa_domain(second_list)


def test_what_rasa_reads_is_the_derived_domain(tmp_path: Path) -> None:
    written = yaml.safe_load(taxonomy.write_rasa_domain(tmp_path / "domain.yml").read_text(encoding="utf-8"))
    assert written == taxonomy.rasa_domain()
    assert written["intents"] == list(taxonomy.intents())


@pytest.mark.parametrize("path", SCORED, ids=lambda p: p.name)
def test_scored_data_names_only_known_intents(path: Path) -> None:
    assert set(load([path]).intents) <= taxonomy.intent_names()
