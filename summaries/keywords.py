"""An article's top keywords: frequent content words, title words counting extra.

Words are found, stemmed and filtered in the article's language (`summaries.language`; Chinese
is segmented into words): grouped by stem ("satellite", "satellites" are one keyword), stop
words and short or numeric tokens are left out, and each keyword is shown in the surface form
readers saw most often: lower case unless the word is always capitalised (a name such as
"Shanghai").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from summaries import language as languages

__all__ = ["TITLE_WEIGHT", "top_keywords"]

# A title word is worth this many body occurrences: the title says what the article is about.
TITLE_WEIGHT = 3.0
_MIN_LENGTH = 3
_MIN_HAN_LENGTH = 2
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)


@dataclass
class _Candidate:
    score: float = 0.0
    first_seen: int = 0
    forms: Counter[str] = field(default_factory=Counter)

    def shown(self) -> str:
        """The most common spelling, case-folded unless the word is always capitalised."""
        lowered = Counter[str]()
        always_capitalised: dict[str, bool] = {}
        for form, count in self.forms.items():
            key = form.lower()
            lowered[key] += count
            always_capitalised[key] = always_capitalised.get(key, True) and form[0].isupper()
        best = max(lowered, key=lambda key: (lowered[key], -len(key)))
        if not always_capitalised[best]:
            return best
        return max(
            (form for form in self.forms if form.lower() == best), key=lambda f: self.forms[f]
        )


def _min_length(word: str) -> int:
    # Most Chinese words are two characters long; a Latin word that short is rarely a keyword.
    return _MIN_HAN_LENGTH if languages.has_han(word) else _MIN_LENGTH


def top_keywords(title: str, text: str, n: int, *, language: str = "en") -> tuple[str, ...]:
    """The n most characteristic words of an article, best first (fewer if it has fewer)."""
    if n <= 0:
        return ()
    ignored, stem = languages.stop_words(language), languages.stemmer(language)
    candidates: dict[str, _Candidate] = {}
    position = 0
    for weight, part in ((TITLE_WEIGHT, title), (1.0, text)):
        for word in languages.segment_han(_POSSESSIVE.sub("", w) for w in _WORD.findall(part)):
            if len(word) < _min_length(word) or word.lower() in ignored:
                continue
            candidate = candidates.setdefault(stem(word.lower()), _Candidate(first_seen=position))
            candidate.score += weight
            candidate.forms[word] += 1
            position += 1
    ranked = sorted(candidates.values(), key=lambda c: (-c.score, c.first_seen))
    keywords: list[str] = []
    for candidate in ranked:
        shown = candidate.shown()
        if shown not in keywords:
            keywords.append(shown)
        if len(keywords) == n:
            break
    return tuple(keywords)
