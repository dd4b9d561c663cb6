"""What a full-text index stores for an article, and what a keyword query asks it for.

The database's own engine (SQLite FTS5, PostgreSQL tsvector) only splits on spaces: every
language decision is made here, once, the same for indexing and for querying. Words are
stemmed and case-folded as `summaries.matching` does for topics, so "satellites" finds
"satellite"; Chinese runs are segmented into words with jieba, since they have no spaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from summaries.matching import KeywordQuery, stem, words
from summaries.segmentation import has_han, segment

# A token is kept to what both engines index: PostgreSQL ignores words over 2 KB and counts
# positions only up to 16,383, and an article's tsvector must stay under 1 MB.
MAX_TOKEN_CHARS = 64
MAX_INDEXED_TOKENS = 16_000
# More words than this in one query cost time and find nothing more useful.
MAX_QUERY_TOKENS = 16


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


def word_tokens(word: str, *, for_search: bool, stemmed: bool = False) -> list[str]:
    """The index tokens of one word: its stem, or the segments of a Chinese run.

    `stemmed`: the word is already a stem (from a `KeywordQuery`); stemming is not idempotent.
    """
    stem_of = (lambda piece: piece) if stemmed else stem
    if not has_han(word):
        token = _plain(stem_of(word))
        return [token] if token and len(token) <= MAX_TOKEN_CHARS else []
    tokens = []
    for piece in segment(word, for_search=for_search):
        token = _plain(piece if has_han(piece) else stem_of(piece))
        if token and len(token) <= MAX_TOKEN_CHARS:
            tokens.append(token)
    return tokens


def text_tokens(text: str, limit: int = MAX_INDEXED_TOKENS) -> list[str]:
    tokens: list[str] = []
    for word in words(text):
        tokens += word_tokens(word, for_search=True)
        if len(tokens) >= limit:
            return tokens[:limit]
    return tokens


def search_document(title: str, body: str) -> SearchDocument:
    """What the index stores for an article (the text itself stays in the articles table)."""
    title_tokens = text_tokens(title, MAX_TOKEN_CHARS)
    body_tokens = text_tokens(body, MAX_INDEXED_TOKENS - len(title_tokens))
    return SearchDocument(" ".join(title_tokens), " ".join(body_tokens))


def query_terms(query: KeywordQuery) -> tuple[tuple[str, ...], ...]:
    """The query as index tokens: every term must match; a term of several tokens is a phrase.

    Chinese words become separate terms rather than a phrase: the index also holds the
    shorter words found inside long ones, so their positions are not adjacent.
    """
    terms: list[tuple[str, ...]] = []
    for term in query.terms:
        tokens = [
            token for word in term for token in word_tokens(word, for_search=False, stemmed=True)
        ]
        if any(has_han(word) for word in term):
            terms += [(token,) for token in tokens]
        elif tokens:
            terms.append(tuple(tokens))
    unique = list(dict.fromkeys(terms))
    kept: list[tuple[str, ...]] = []
    budget = MAX_QUERY_TOKENS
    for term in unique:
        if len(term) > budget:
            break
        kept.append(term)
        budget -= len(term)
    return tuple(kept)
