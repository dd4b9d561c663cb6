"""What a full-text index stores for an article, and what a keyword query asks it for.

The database's own engine (SQLite FTS5, PostgreSQL tsvector) only splits on spaces: every
language decision is made here, by `summaries.language`, the same for indexing and querying.
An article is indexed under the stems of its own language (`language.index_terms`: Chinese
segmented with jieba, a long Chinese word also under the shorter words inside it). A query's
language is unknown, so each of its words asks for its stem in every supported language
("satellites" -> "satellit" in English, maybe something else in French): an article matches
when it holds the word as stemmed in its own language.
"""

from __future__ import annotations

from dataclasses import dataclass

from summaries import language as languages
from summaries.matching import KeywordQuery

# A token is kept to what both engines index: PostgreSQL ignores words over 2 KB and counts
# positions only up to 16,383, and an article's tsvector must stay under 1 MB.
MAX_TOKEN_CHARS = 64
MAX_INDEXED_TOKENS = 16_000
# Text beyond this is not read for the index (10 MB items exist; their first part is enough).
MAX_INDEXED_CHARS = 200_000
# More words than this in one query cost time and find nothing more useful.
MAX_QUERY_TOKENS = 16

# One term of a query: its alternative spellings (one per language's stemmer), each a phrase.
Term = tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """An article's title and body as space-separated index tokens."""

    title: str
    body: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    article_id: str
    score: float


def _plain(token: str) -> str:
    # Joiners inside a word ("don't", "U.S.") go, so the engines see one token, not two.
    if token.isalnum():
        return token
    return "".join(char for char in token if char.isalnum())


def text_tokens(text: str, language: str, limit: int = MAX_INDEXED_TOKENS) -> list[str]:
    tokens: list[str] = []
    for term in languages.index_terms(text[:MAX_INDEXED_CHARS], language):
        token = _plain(term)
        if token and len(token) <= MAX_TOKEN_CHARS:
            tokens.append(token)
            if len(tokens) >= limit:
                break
    return tokens


def search_document(title: str, body: str, language: str) -> SearchDocument:
    """What the index stores for an article (the text itself stays in the articles table)."""
    title_tokens = text_tokens(title, language, MAX_TOKEN_CHARS)
    body_tokens = text_tokens(body, language, MAX_INDEXED_TOKENS - len(title_tokens))
    return SearchDocument(" ".join(title_tokens), " ".join(body_tokens))


def _spellings(words: tuple[str, ...]) -> Term:
    phrases = (
        tuple(_plain(languages.stem(word, code)) for word in words) for code in languages.SUPPORTED
    )
    return tuple(dict.fromkeys(phrase for phrase in phrases if all(phrase)))


def query_terms(query: KeywordQuery) -> tuple[Term, ...]:
    """The query as index tokens: every term must match, in any of its spellings; a spelling
    of several tokens is a phrase.

    Chinese words become separate terms rather than a phrase: the index also holds the
    shorter words found inside long ones, so positions there are not in reading order.
    """
    terms: list[Term] = []
    for words in query.terms:
        if any(languages.has_han(word) for word in words):
            terms += [_spellings((word,)) for word in words]
        else:
            terms.append(_spellings(words))
    kept: list[Term] = []
    budget = MAX_QUERY_TOKENS
    for term in dict.fromkeys(term for term in terms if term):
        if len(term[0]) > budget:
            break
        kept.append(term)
        budget -= len(term[0])
    return tuple(kept)


def tokens_by_language(query: KeywordQuery) -> dict[tuple[str, ...], tuple[str, ...]] | None:
    """For a query of plain words, the index token each supported language looks for, one
    per term, with the languages that look for them: ``{tokens: languages}``. Asked of the
    articles in those languages, the index finds just what `query.matches` accepts (in the
    part of each article it indexes). None when it cannot: a phrase, a Chinese phrase (its
    words are separate terms in the index) or a word with joiners ("U.S.")."""
    if not query.words or not all(len(typed) == 1 and typed[0].isalnum() for typed in query.words):
        return None
    groups: dict[tuple[str, ...], list[str]] = {}
    for code in languages.SUPPORTED:
        tokens = tuple(_plain(languages.stem(typed[0], code)) for typed in query.words)
        if not all(0 < len(token) <= MAX_TOKEN_CHARS for token in tokens):
            return None
        groups.setdefault(tokens, []).append(code)
    return {tokens: tuple(codes) for tokens, codes in groups.items()}


def highlight_stems(query: KeywordQuery) -> frozenset[str]:
    """The query's stems in every language, to show matched words in bold."""
    return frozenset().union(*(query.stems_in(code) for code in languages.SUPPORTED))
