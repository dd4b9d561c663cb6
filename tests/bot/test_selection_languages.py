"""Keyword subscriptions in Chinese and other languages pick the articles a reader expects."""

from datetime import UTC, datetime

import pytest

from bot.selection import KEYWORDS, ArticleTexts, keyword_matches
from bot.store import StoredArticle, Subscription
from summaries.digest import summarise, with_language
from summaries.matching import KeywordQuery
from summaries.models import Article

QUANTUM_ZH = Article.create(
    source="zh.txt",
    title="松江建成跨区量子通信示范网",
    paragraphs=(
        "上海松江区日前宣布，量子通信示范网已完成建设，首批三条政务专线正式投入使用。",
        "示范网采用量子密钥分发技术，为数据传输提供加密保护。",
    ),
)
ART_ZH = Article.create(
    source="zh.txt",
    title="徐汇滨江美术馆推出宋元书画特展",
    paragraphs=("美术馆本周六起推出宋元书画特展，展出八十余件作品。", "展期三个月。"),
)
SATELLITE_DE = Article.create(
    source="de.txt",
    title="Neue Satelliten für die Hafenstadt",
    paragraphs=("Die Stadt hat am Montag drei neue Satelliten vorgestellt. Sie starten im Mai.",),
)


def stored(article: Article) -> StoredArticle:
    article = with_language(article)  # as ingest does: detected once, stored with it
    return StoredArticle(article, summarise(article), datetime(2026, 1, 1, tzinfo=UTC))


def keywords(text: str) -> Subscription:
    return Subscription(KEYWORDS, KeywordQuery.parse(text).text)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("量子", ["quantum"]), ("量子通信", ["quantum"]), ("书画", ["art"]), ("卫星", []),
     ("Satellit", ["satellite"]), ("satelliten", ["satellite"])],
)  # fmt: skip
def test_keyword_subscriptions_match_articles_in_their_language(query, expected):
    names = {QUANTUM_ZH.id: "quantum", ART_ZH.id: "art", SATELLITE_DE.id: "satellite"}
    texts = ArticleTexts()
    for article in (QUANTUM_ZH, ART_ZH, SATELLITE_DE):
        texts.add(stored(article).article)
    value = keywords(query).value
    chosen = keyword_matches([value], list(names), texts)[value]
    assert [names[article_id] for article_id in chosen] == expected


def test_a_chinese_subscription_is_shown_as_typed_and_survives_a_round_trip():
    subscription = keywords("量子通信")
    assert subscription.value == "量子通信"  # no spaces between Chinese words, no quotes
    texts = ArticleTexts()
    texts.add_all([(QUANTUM_ZH.id, QUANTUM_ZH.title, QUANTUM_ZH.paragraphs, "")])  # undetected
    found = keyword_matches([subscription.value], [QUANTUM_ZH.id], texts)
    assert found == {subscription.value: [QUANTUM_ZH.id]}
    assert KeywordQuery.parse('"satellite internet" 量子').text == '"satellite internet" 量子'


def test_detected_languages_are_stored_on_the_article():
    assert stored(QUANTUM_ZH).article.language == "zh"
    assert stored(SATELLITE_DE).article.language == "de"
