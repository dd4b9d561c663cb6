"""Match articles to topics and keyword queries, and rank articles for a search.

Everything works on stemmed, case-folded word tokens, so "satellites" finds "satellite" and
"Quantum" finds "quantum"; phrases match as consecutive stems, never inside other words.
Words are stemmed in the article's language (`summaries.language`): a topic keyword or a
query, whose language we do not know, is stemmed like the article it is compared with.
Chinese is segmented into words, and a long Chinese word also answers for the shorter
dictionary words inside it, so "量子" finds an article about "量子通信网".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from summaries import language as languages
from summaries.models import Topic

_QUOTED_OR_WORD = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')

# Title words say more about what an article is about than any single body word.
TITLE_WEIGHT = 3.0
# A topic needs one title hit or two body hits before an article is filed under it.
TOPIC_THRESHOLD = 2.0
MAX_QUERY_TERMS = 8


def stem(word: str, language: str = languages.DEFAULT_LANGUAGE) -> str:
    return languages.stem(word, language)


def words(text: str) -> list[str]:
    """The word tokens of `text`, in order, keeping their original spelling."""
    return languages.word_tokens(text)


@lru_cache(maxsize=65536)
def _stemmed(surface: tuple[str, ...], language: str) -> tuple[str, ...]:
    stem_word = languages.stemmer(language)
    return tuple(stem_word(word) for word in surface)


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
            _stemmed(tuple(title_words), language),
            _stemmed(tuple(body_words), language),
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

    def term_counts(self) -> dict[str, float]:
        """Each stem's weighted count, title words counting TITLE_WEIGHT times."""
        counts: dict[str, float] = dict(Counter(self.body + self.body_parts))
        for token in self.title + self.title_parts:
            counts[token] = counts.get(token, 0.0) + TITLE_WEIGHT
        return counts


class TopicMatcher:
    """Files articles under the configured topics by their stemmed keywords and phrases."""

    def __init__(self, topics: Iterable[Topic], threshold: float = TOPIC_THRESHOLD) -> None:
        self._keywords = {
            topic.name: tuple(tuple(words(keyword)) for keyword in topic.keywords)
            for topic in topics
        }
        self._threshold = threshold

    def _phrases(self, language: str) -> dict[str, tuple[tuple[str, ...], ...]]:
        return {
            name: tuple({_stemmed(keyword, language) for keyword in keywords} - {()})
            for name, keywords in self._keywords.items()
        }

    def scores(
        self, title: str, body: str, *, language: str = languages.DEFAULT_LANGUAGE
    ) -> dict[str, float]:
        text = TokenisedText.of(title, body, language)
        return {
            name: sum(text.weighted_count(phrase) for phrase in phrases)
            for name, phrases in self._phrases(text.language).items()
        }

    def match(
        self, title: str, body: str, *, language: str = languages.DEFAULT_LANGUAGE
    ) -> tuple[str, ...]:
        """The topics this article belongs to, best first."""
        scores = self.scores(title, body, language=language)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return tuple(name for name, score in ranked if score >= self._threshold)


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

    `terms` hold each term's words as typed; they are stemmed in the language of whatever
    article the query is compared with (`terms_in`).
    """

    terms: tuple[tuple[str, ...], ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> KeywordQuery:
        surface: list[str] = []
        terms: list[tuple[str, ...]] = []
        seen: set[tuple[str, ...]] = set()
        for match in _QUOTED_OR_WORD.finditer(text):
            quoted = match.group(1) if match.group(1) is not None else match.group(2)
            raw = quoted if quoted is not None else match.group(3)
            term = tuple(words(raw))
            key = stems(raw)  # "satellite satellites" is one term
            if not term or key in seen:
                continue
            seen.add(key)
            terms.append(term)
            shown = _joined(term)
            surface.append(f'"{shown}"' if " " in shown else shown)
        if not terms:
            raise QueryError("the query has no words to look for")
        if len(terms) > MAX_QUERY_TERMS:
            raise QueryError(f"a query can have at most {MAX_QUERY_TERMS} words or phrases")
        return cls(tuple(terms), " ".join(surface).casefold())

    def terms_in(self, language: str) -> tuple[tuple[str, ...], ...]:
        """The terms stemmed for text in `language`."""
        return tuple(_stemmed(term, language) for term in self.terms)

    def stems_in(self, language: str = languages.DEFAULT_LANGUAGE) -> frozenset[str]:
        return frozenset(token for term in self.terms_in(language) for token in term)

    @property
    def stems(self) -> frozenset[str]:
        """The query's stems for English text (kept for highlighting English results)."""
        return self.stems_in(languages.DEFAULT_LANGUAGE)

    def matches(self, text: TokenisedText) -> bool:
        return all(text.weighted_count(term) > 0 for term in self.terms_in(text.language))


@dataclass(frozen=True, slots=True)
class SearchHit:
    article_id: str
    score: float


class SearchIndex:
    """BM25 over titles and bodies, with title hits weighted up; every query term must match.

    Kept in memory: a regional news bot holds thousands of articles, not millions, and this
    keeps search identical on SQLite and PostgreSQL.
    """

    K1 = 1.2
    B = 0.75

    def __init__(self) -> None:
        self._texts: dict[str, TokenisedText] = {}
        self._term_counts: dict[str, dict[str, float]] = {}
        self._document_frequency: Counter[str] = Counter()
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._texts

    def add(
        self,
        article_id: str,
        title: str,
        body: str,
        language: str = languages.DEFAULT_LANGUAGE,
    ) -> None:
        if article_id in self._texts:
            return
        text = TokenisedText.of(title, body, language)
        counts = text.term_counts()
        self._texts[article_id] = text
        self._term_counts[article_id] = counts
        self._document_frequency.update(counts.keys())
        self._total_length += len(text.body) + len(text.title)

    def search(self, query: KeywordQuery) -> list[SearchHit]:
        """Articles containing every term of `query`, best first."""
        if not self._texts:
            return []
        average_length = self._total_length / len(self._texts)
        hits = [
            SearchHit(article_id, self._score(article_id, query, average_length))
            for article_id, text in self._texts.items()
            if query.matches(text)
        ]
        hits.sort(key=lambda hit: (-hit.score, hit.article_id))
        return hits

    def _score(self, article_id: str, query: KeywordQuery, average_length: float) -> float:
        counts = self._term_counts[article_id]
        text = self._texts[article_id]
        length = len(text.body) + len(text.title)
        documents = len(self._texts)
        score = 0.0
        for token in query.stems_in(text.language):
            frequency = counts.get(token, 0)
            if not frequency:
                continue
            rarity = math.log(
                1
                + (documents - self._document_frequency[token] + 0.5)
                / (self._document_frequency[token] + 0.5)
            )
            saturation = (
                frequency
                * (self.K1 + 1)
                / (frequency + self.K1 * (1 - self.B + self.B * length / average_length))
            )
            score += rarity * saturation
        return score
