"""Which stored articles a chat should get: pure logic over subscriptions and article texts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.store import StoredArticle, Subscription
from bot.store.values import SOURCE_KIND
from summaries.digest import language_of
from summaries.matching import KeywordQuery, QueryError, TokenisedText

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


def articles_for_chat(
    subscriptions: Sequence[Subscription],
    candidates: Iterable[StoredArticle],
    already_sent: Collection[str],
    texts: ArticleTexts,
    limit: int,
) -> list[StoredArticle]:
    """The newest `limit` candidates that match any subscription and were not sent before.

    Candidates come newest first; the result is too.
    """
    chosen: list[StoredArticle] = []
    for stored in candidates:
        if len(chosen) >= limit:
            break
        if stored.article.id in already_sent or not stored.digest.bullets:
            continue
        if any(subscription_matches(sub, stored, texts) for sub in subscriptions):
            chosen.append(stored)
    return chosen


def topics_of(subscriptions: Iterable[Subscription]) -> list[str]:
    return [sub.value for sub in subscriptions if sub.kind == TOPIC]
