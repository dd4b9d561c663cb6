"""Match articles to topics and keyword queries (search itself runs in the database).

Everything works on stemmed, case-folded word tokens, so "satellites" finds "satellite" and
"Quantum" finds "quantum"; phrases match as consecutive stems, never inside other words.
Words are stemmed in the article's language (`summaries.language`): a topic keyword or a
query, whose language we do not know, is stemmed like the article it is compared with.
Chinese is segmented into words, and a long Chinese word also answers for the shorter
dictionary words inside it, so "量子" finds an article about "量子通信网".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from summaries import language as languages
from summaries.models import Topic

_QUOTED_OR_WORD = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')

# Title words say more about what an article is about than any single body word.
TITLE_WEIGHT = 3.0
# A topic needs one of its keywords in the title, or this many DISTINCT keywords in the body:
# one word repeated ("foreign", "brand") says little; several different ones say the subject.
MIN_BODY_KEYWORDS = 2
# ... and a score at least this share of the best topic's, so an article is filed under what
# it is about, not under everything it mentions in passing (benchmarks/topic_matching.py).
MIN_SHARE_OF_BEST = 0.7
MAX_QUERY_TERMS = 8


def stem(word: str, language: str = languages.DEFAULT_LANGUAGE) -> str:
    return languages.stem(word, language)


def words(text: str) -> list[str]:
    """The word tokens of `text`, in order, keeping their original spelling."""
    return languages.word_tokens(text)


def _stem_all(surface: Sequence[str], language: str) -> tuple[str, ...]:
    stem_word = languages.stemmer(language)  # memoised per word
    return tuple(stem_word(word) for word in surface)


# Keywords and query terms only: an article's text must not be kept here (this cache held
# every tokenised article's words, 2.3 GB for 30,000 articles of 1,000 words).
_stemmed = lru_cache(maxsize=65536)(_stem_all)


def stems(text: str, language: str = languages.DEFAULT_LANGUAGE) -> tuple[str, ...]:
    return _stemmed(tuple(words(text)), language)


def _sub_word_stems(surface: Iterable[str], language: str) -> tuple[str, ...]:
    stem_word = languages.stemmer(language)
    return tuple(stem_word(part) for word in surface for part in languages.sub_words(word))


def _count_phrase(tokens: Sequence[str], phrase: tuple[str, ...]) -> int:
    if not phrase or len(phrase) > len(tokens):
        return 0
    if len(phrase) == 1:
        return tokens.count(phrase[0])
    first, width = phrase[0], len(phrase)
    return sum(
        1
        for start, token in enumerate(tokens[: len(tokens) - width + 1])
        if token == first and tuple(tokens[start : start + width]) == phrase
    )


@dataclass(frozen=True, slots=True)
class TokenisedText:
    """An article's title and body as stems, computed once and reused for every match.

    `title_parts` and `body_parts` hold the shorter words inside long Chinese words, which
    a single-word term matches too (never a phrase: they are not in reading order).
    """

    title: tuple[str, ...]
    body: tuple[str, ...]
    language: str = languages.DEFAULT_LANGUAGE
    title_parts: tuple[str, ...] = ()
    body_parts: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, title: str, body: str, language: str = languages.DEFAULT_LANGUAGE
    ) -> TokenisedText:
        language = languages.normalise_code(language)
        title_words, body_words = words(title), words(body)
        return cls(
            _stem_all(title_words, language),
            _stem_all(body_words, language),
            language,
            _sub_word_stems(title_words, language),
            _sub_word_stems(body_words, language),
        )

    def weighted_count(self, phrase: tuple[str, ...]) -> float:
        count = TITLE_WEIGHT * _count_phrase(self.title, phrase) + _count_phrase(self.body, phrase)
        if len(phrase) == 1:
            count += TITLE_WEIGHT * self.title_parts.count(phrase[0])
            count += self.body_parts.count(phrase[0])
        return count

    def in_title(self, phrase: tuple[str, ...]) -> bool:
        single = len(phrase) == 1 and phrase[0] in self.title_parts
        return single or _count_phrase(self.title, phrase) > 0

    def in_body(self, phrase: tuple[str, ...]) -> bool:
        single = len(phrase) == 1 and phrase[0] in self.body_parts
        return single or _count_phrase(self.body, phrase) > 0


class TopicMatcher:
    """Files articles under the configured topics by their stemmed keywords and phrases.

    A topic's score counts the distinct keywords found, a title keyword `TITLE_WEIGHT` times;
    repetitions do not count, so a long article that keeps saying one word is not filed for it.
    """

    def __init__(
        self,
        topics: Iterable[Topic],
        *,
        min_body_keywords: int = MIN_BODY_KEYWORDS,
        min_share_of_best: float = MIN_SHARE_OF_BEST,
    ) -> None:
        self._keywords = {
            topic.name: tuple(tuple(words(keyword)) for keyword in topic.keywords)
            for topic in topics
        }
        self._min_body_keywords = min_body_keywords
        self._min_share = min_share_of_best

    def _phrases(self, language: str) -> dict[str, tuple[tuple[str, ...], ...]]:
        return {
            name: tuple({_stemmed(keyword, language) for keyword in keywords} - {()})
            for name, keywords in self._keywords.items()
        }

    def scores(
        self, title: str, body: str, *, language: str = languages.DEFAULT_LANGUAGE
    ) -> dict[str, float]:
        """Each topic's score; 0 for a topic with no title keyword and too few in the body."""
        text = TokenisedText.of(title, body, language)
        return {
            name: self._score(text, phrases)
            for name, phrases in self._phrases(text.language).items()
        }

    def _score(self, text: TokenisedText, phrases: tuple[tuple[str, ...], ...]) -> float:
        in_title = sum(1 for phrase in phrases if text.in_title(phrase))
        in_body = sum(1 for phrase in phrases if text.in_body(phrase))
        if not in_title and in_body < self._min_body_keywords:
            return 0.0
        return TITLE_WEIGHT * in_title + in_body

    def match(
        self, title: str, body: str, *, language: str = languages.DEFAULT_LANGUAGE
    ) -> tuple[str, ...]:
        """The topics this article is about, best first."""
        scores = self.scores(title, body, language=language)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        best = ranked[0][1] if ranked else 0.0
        return tuple(
            name for name, score in ranked if score > 0 and score >= self._min_share * best
        )


class QueryError(ValueError):
    """A keyword query that cannot be used; the message says why, for the user."""


def _joined(term: Sequence[str]) -> str:
    """A term's words as a reader writes them: Chinese words run together, others spaced."""
    text = term[0]
    for previous, word in zip(term, term[1:], strict=False):
        both_han = languages.has_han(previous[-1]) and languages.has_han(word[0])
        text += word if both_han else " " + word
    return text


@dataclass(frozen=True, slots=True)
class KeywordQuery:
    """Free keywords, news-alert style: every term must occur; a quoted term is a phrase.

    `terms` hold each term's English stems (as they always have); `words` hold the words as
    typed, which `terms_in` stems in the language of the article the query is compared with.
    """

    terms: tuple[tuple[str, ...], ...]
    text: str
    words: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def parse(cls, text: str) -> KeywordQuery:
        surface: list[str] = []
        typed: list[tuple[str, ...]] = []
        terms: list[tuple[str, ...]] = []
        for match in _QUOTED_OR_WORD.finditer(text):
            quoted = match.group(1) if match.group(1) is not None else match.group(2)
            raw = quoted if quoted is not None else match.group(3)
            term = stems(raw)
            if not term or term in terms:  # "satellite satellites" is one term
                continue
            terms.append(term)
            typed.append(tuple(words(raw)))
            shown = _joined(typed[-1])
            surface.append(f'"{shown}"' if " " in shown else shown)
        if not terms:
            raise QueryError("the query has no words to look for")
        if len(terms) > MAX_QUERY_TERMS:
            raise QueryError(f"a query can have at most {MAX_QUERY_TERMS} words or phrases")
        return cls(tuple(terms), " ".join(surface).casefold(), tuple(typed))

    def terms_in(self, language: str) -> tuple[tuple[str, ...], ...]:
        """The terms stemmed for text in `language`."""
        code = languages.normalise_code(language)
        if code == languages.DEFAULT_LANGUAGE or not self.words:
            return self.terms
        return tuple(_stemmed(term, code) for term in self.words)

    def stems_in(self, language: str = languages.DEFAULT_LANGUAGE) -> frozenset[str]:
        return frozenset(token for term in self.terms_in(language) for token in term)

    @property
    def stems(self) -> frozenset[str]:
        """The query's stems for English text (kept for highlighting English results)."""
        return self.stems_in(languages.DEFAULT_LANGUAGE)

    def matches(self, text: TokenisedText) -> bool:
        return all(text.weighted_count(term) > 0 for term in self.terms_in(text.language))
