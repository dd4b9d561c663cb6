"""Which stored articles a chat should get: pure logic over subscriptions and article texts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.store import StoredArticle, Subscription
from bot.store.values import SOURCE_KIND
from summaries.digest import language_of
from summaries.matching import KeywordQuery, QueryError, TokenisedText
from summaries.sources import SourceSpec

TOPIC = "topic"
KEYWORDS = "keywords"
SOURCE = SOURCE_KIND


@dataclass
class ArticleTexts:
    """Tokenised article texts, computed once per article and shared by every chat's match."""

    _texts: dict[str, TokenisedText] = field(default_factory=dict)

    def of(self, stored: StoredArticle) -> TokenisedText:
        article = stored.article
        text = self._texts.get(article.id)
        if text is None:
            text = TokenisedText.of(article.title, article.text, language_of(article))
            self._texts[article.id] = text
        return text

    def forget_except(self, keep: Collection[str]) -> None:
        for article_id in [key for key in self._texts if key not in keep]:
            del self._texts[article_id]


def subscription_matches(
    subscription: Subscription, stored: StoredArticle, texts: ArticleTexts
) -> bool:
    if subscription.kind == TOPIC:
        return subscription.value in stored.digest.topics
    if subscription.kind == SOURCE:
        # A chat's own source: every article of it, or those matching its keywords.
        url, _, keywords = subscription.value.partition(" ")
        if stored.article.source != url:
            return False
        if not keywords:
            return True
        query = _parsed_query(keywords)
        return query is not None and query.matches(texts.of(stored))
    query = _parsed_query(subscription.value)
    return query is not None and query.matches(texts.of(stored))


@lru_cache(maxsize=4096)
def _parsed_query(text: str) -> KeywordQuery | None:
    # Stored subscriptions were valid when made; a rule change must not break a whole round.
    try:
        return KeywordQuery.parse(text)
    except QueryError:
        return None


@dataclass(frozen=True)
class Selection:
    """A chat's pick for one digest, newest first, and how many more matches did not fit."""

    chosen: list[StoredArticle]
    more: int = 0


def select_for_chat(
    subscriptions: Sequence[Subscription],
    candidates: Iterable[StoredArticle],
    already_sent: Collection[str],
    texts: ArticleTexts,
    limit: int,
) -> Selection:
    """The newest `limit` candidates that match any subscription and were not sent before,
    and a count of the matching ones left over (the reader is told: "N more: /digest").

    Candidates come newest first; the result is too.
    """
    chosen: list[StoredArticle] = []
    more = 0
    for stored in candidates:
        if stored.article.id in already_sent or not stored.digest.bullets:
            continue
        if any(subscription_matches(sub, stored, texts) for sub in subscriptions):
            if len(chosen) < limit:
                chosen.append(stored)
            else:
                more += 1
    return Selection(chosen, more)


def articles_for_chat(
    subscriptions: Sequence[Subscription],
    candidates: Iterable[StoredArticle],
    already_sent: Collection[str],
    texts: ArticleTexts,
    limit: int,
) -> list[StoredArticle]:
    """`select_for_chat` without the count of what is left."""
    return select_for_chat(subscriptions, candidates, already_sent, texts, limit).chosen


def matched_by(
    subscriptions: Iterable[Subscription], stored: StoredArticle, texts: ArticleTexts
) -> list[Subscription]:
    """The subscriptions that brought this article: the reader is shown why it is there."""
    return [sub for sub in subscriptions if subscription_matches(sub, stored, texts)]


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
