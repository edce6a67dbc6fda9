"""Entity extraction from the lookup tables, for when the Rasa model cannot answer."""

from __future__ import annotations

import re

from nlu.result import Entity
from nlu.training_data import NLUData


class LookupEntityExtractor:
    """Finds lookup-table words (`weapon`, `location`) as whole words, longest first."""

    def __init__(self, data: NLUData) -> None:
        self._synonyms = dict(data.synonyms)
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for entity, words in sorted(data.lookups.items()):
            alternatives = sorted({w.lower() for w in words if w.strip()}, key=len, reverse=True)
            if alternatives:
                body = "|".join(re.escape(w) for w in alternatives)
                self._patterns.append((entity, re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)))

    def extract(self, text: str) -> tuple[Entity, ...]:
        found: list[Entity] = []
        taken: list[tuple[int, int]] = []
        for entity, pattern in self._patterns:
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(start < t_end and t_start < end for t_start, t_end in taken):
                    continue
                taken.append((start, end))
                surface = match.group()
                found.append(Entity(entity, self._synonyms.get(surface.lower(), surface), start, end))
        return tuple(sorted(found, key=lambda e: e.start))
