"""Which stored articles a chat should get: pure logic over per-subscription candidate lists.

A round (or /digest) finds, for each subscription, the ids of the matching articles in the
look-back window, newest first: a topic's from the `article_topics` index, a keyword query's
from the full-text index, checked against the candidates' tokenised texts. A chat then gets
the newest `limit` of the union of its subscriptions' lists that it was not given before, so a
large source can no longer crowd a small one out of a fixed global pool.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import lru_cache

from bot.store import StoredArticle, Subscription
from bot.store.values import SOURCE_KIND
from summaries.digest import language_of
from summaries.matching import KeywordQuery, QueryError, TokenisedText
from summaries.models import Article
from summaries.sources import SourceSpec

TOPIC = "topic"
KEYWORDS = "keywords"
SOURCE = SOURCE_KIND


#: Tokenised texts kept across rounds. About 10 KB each: keeping a whole look-back window
#: (30,000 articles) took 310 MB, so only the most recently used are kept.
MAX_CACHED_TEXTS = 1000


class ArticleTexts:
    """Tokenised article texts, computed once and shared by every keyword match, the
    `max_size` most recently used kept (least recently used forgotten first)."""

    def __init__(self, max_size: int = MAX_CACHED_TEXTS) -> None:
        self.max_size = max(1, max_size)
        self._texts: OrderedDict[str, TokenisedText] = OrderedDict()

    def __len__(self) -> int:
        return len(self._texts)

    def add(self, article: Article) -> None:
        if article.id in self._texts:
            self._texts.move_to_end(article.id)
            return
        language = language_of(article)
        self.put(article.id, TokenisedText.of(article.title, article.text, language))

    def add_all(self, rows: Iterable[tuple[str, str, Sequence[str], str]]) -> None:
        """(id, title, paragraphs, language) rows (language "" when unknown); CPU-bound, so
        callers run it in a worker thread."""
        for article_id, title, paragraphs, language in rows:
            self.add(Article(article_id, "", title, tuple(paragraphs), language=language))

    def put(self, article_id: str, text: TokenisedText | None) -> None:
        """Keep an already tokenised text (None: nothing to keep)."""
        if text is None:
            return
        self._texts[article_id] = text
        self._texts.move_to_end(article_id)
        while len(self._texts) > self.max_size:
            self._texts.popitem(last=False)

    def get(self, article_id: str) -> TokenisedText | None:
        text = self._texts.get(article_id)
        if text is not None:
            self._texts.move_to_end(article_id)
        return text

    def missing(self, ids: Iterable[str]) -> list[str]:
        return [article_id for article_id in ids if article_id not in self._texts]


@lru_cache(maxsize=4096)
def parsed_query(text: str) -> KeywordQuery | None:
    # Stored subscriptions were valid when made; a rule change must not break a whole round.
    try:
        return KeywordQuery.parse(text)
    except QueryError:
        return None


def keyword_matches(
    queries: Iterable[str], window: Sequence[str], texts: ArticleTexts
) -> dict[str, list[str]]:
    """For each keyword query, the ids in `window` (kept in its order) whose text matches it.

    CPU-bound: callers run it in a worker thread. An id without a text does not match.
    """
    found: dict[str, list[str]] = {}
    for query_text in dict.fromkeys(queries):
        query = parsed_query(query_text)
        found[query_text] = []
        if query is None:
            continue
        for article_id in window:
            text = texts.get(article_id)
            if text is not None and query.matches(text):
                found[query_text].append(article_id)
    return found


def choose_articles(
    subscriptions: Sequence[Subscription],
    matches: Mapping[Subscription, Sequence[str]],
    rank: Mapping[str, int],
    already_sent: Collection[str],
    limit: int,
) -> list[str]:
    """The newest `limit` article ids matching any subscription and not sent before.

    Each list in `matches` is newest first; `rank` orders ids across lists (0 is the newest;
    an id stored after the ranks were taken counts as newer still).
    """
    streams = [matches.get(sub, ()) for sub in dict.fromkeys(subscriptions)]
    chosen: list[str] = []
    for article_id in heapq.merge(*streams, key=lambda key: rank.get(key, -1)):
        if len(chosen) >= limit:
            break
        if article_id not in already_sent and article_id not in chosen:
            chosen.append(article_id)
    return chosen


def source_parts(value: str) -> tuple[str, str]:
    """A source subscription's URL and its optional keyword query ("" for every article)."""
    url, _, keywords = value.partition(" ")
    return url, keywords


def topics_of(subscriptions: Iterable[Subscription]) -> list[str]:
    return [sub.value for sub in subscriptions if sub.kind == TOPIC]


def count_more(
    subscriptions: Sequence[Subscription],
    matches: Mapping[Subscription, Sequence[str]],
    already_sent: Collection[str],
    chosen: Collection[str],
    *,
    unions: MatchUnions | None = None,
) -> int:
    """How many matching articles, not sent before, did not fit the digest ("N more").

    With `unions` (shared by the chats of a round), each distinct set of subscriptions has its
    matches united once, and a chat costs only what it was sent and chosen, not every match.
    """
    union = (unions or MatchUnions(matches)).of(subscriptions)
    return count_left(union, already_sent, chosen)


def count_left(
    union: Collection[str], already_sent: Collection[str], chosen: Collection[str]
) -> int:
    """How many of `union` are neither in `already_sent` nor in `chosen`."""
    taken = {article_id for article_id in already_sent if article_id in union}
    taken.update(article_id for article_id in chosen if article_id in union)
    return len(union) - len(taken)


class MatchUnions:
    """The union of the matches of each distinct set of subscriptions, computed once.

    `matches` may gain subscriptions between calls (a round's candidates are loaded batch by
    batch), but a subscription's list must not change once a union of it was taken.
    """

    def __init__(self, matches: Mapping[Subscription, Sequence[str]]) -> None:
        self._matches = matches
        self._unions: dict[frozenset[Subscription], frozenset[str]] = {}

    def of(self, subscriptions: Iterable[Subscription]) -> frozenset[str]:
        key = frozenset(subscriptions)
        union = self._unions.get(key)
        if union is None:
            union = frozenset(
                article_id for sub in key for article_id in self._matches.get(sub, ())
            )
            self._unions[key] = union
        return union


def matched_by(
    subscriptions: Iterable[Subscription], stored: StoredArticle, texts: ArticleTexts
) -> list[Subscription]:
    """The topic, keyword and own-source subscriptions that brought this article (shown to
    the reader)."""
    found = []
    text = texts.get(stored.article.id)

    def matches(query_text: str) -> bool:
        nonlocal text
        query = parsed_query(query_text)
        if query is None:
            return False
        if text is None:
            texts.add(stored.article)
            text = texts.get(stored.article.id)
        return text is not None and query.matches(text)

    for sub in subscriptions:
        if sub.kind == TOPIC:
            brought = sub.value in stored.digest.topics
        elif sub.kind == KEYWORDS:
            brought = matches(sub.value)
        else:  # the chat's own source: its articles, or those matching its keywords
            url, keywords = source_parts(sub.value)
            brought = url == stored.article.source and (not keywords or matches(keywords))
        if brought:
            found.append(sub)
    return found


def source_name(source: str, specs: Iterable[SourceSpec]) -> str | None:
    """The configured name of the source an article came from (`source` is the feed URL, or
    a file's path inside a configured folder); None when no source claims it."""
    normalised = source.replace("\\", "/")
    claims = [
        (len(location), spec.name)
        for spec in specs
        if (location := spec.location.replace("\\", "/").rstrip("/"))
        and (normalised == location or normalised.startswith(location + "/"))
    ]
    return max(claims)[1] if claims else None
