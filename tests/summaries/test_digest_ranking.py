"""A digest keeps a ranking of up to 10 bullets, so any bullet count renders without re-ranking."""

from __future__ import annotations

import pytest

from summaries.digest import RANKER_VERSION, ranked_order, summarise, usable_sentences
from summaries.models import (
    ALGORITHMS,
    MAX_BULLETS,
    Article,
    Digest,
    RankedBullet,
    SummariserSettings,
)
from summaries.ranking import rank_sentences

SENTENCES = [
    "The quantum network reached twelve districts of Shanghai this spring, officials said.",
    "Engineers tested photon sources in Hefei for six months before the launch.",
    "Banks will be the first customers, followed by hospitals and courts next year.",
    "The network cost 1.2 billion yuan, paid by the city and three state firms.",
    "Critics asked whether quantum keys are needed when classical encryption works.",
    "A second ring around Pudong is planned for 2027, linking the airport and port.",
    "Students from Fudan University helped to map fibre routes under the old town.",
    "Weather delayed the last fibre section in March by almost two weeks.",
    "The mayor opened the control centre in Songjiang on Monday morning.",
    "Rival cities such as Beijing and Hangzhou are building networks of their own.",
    "Telecom operators will rent spare capacity to companies from January.",
    "Security researchers will be invited to attack the system in a public contest.",
]
ARTICLE = Article.create(
    source="test.txt", title="Quantum network grows", paragraphs=(" ".join(SENTENCES),)
)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_ranking_holds_ten_bullets_whose_top_k_is_what_the_ranker_picks_for_k(algorithm):
    settings = SummariserSettings(algorithm=algorithm, bullets=3)
    digest = summarise(ARTICLE, settings)
    sentences = usable_sentences(ARTICLE)
    assert len(digest.ranking) == MAX_BULLETS
    assert digest.ranker_version == RANKER_VERSION
    assert digest.bullets == digest.top(3)
    for k in (1, 3, 5, 10):
        chosen = rank_sentences(sentences, k, algorithm, ARTICLE.title)
        assert sorted(bullet.position for bullet in digest.ranking[:k]) == chosen
        assert digest.top(k) == tuple(sentences[index] for index in chosen)


def test_top_k_is_in_article_order_and_an_old_digest_falls_back_to_its_bullets():
    digest = Digest(
        "a1",
        bullets=("B.", "C."),
        ranking=(RankedBullet(4, "E."), RankedBullet(1, "B."), RankedBullet(2, "C.")),
    )
    assert digest.top(2) == ("B.", "E.")
    assert digest.top(10) == ("B.", "C.", "E.")
    assert digest.top(None) == ("B.", "C.")
    old = Digest("a2", bullets=("One.", "Two.", "Three."))
    assert old.top(2) == ("One.", "Two.") and old.top(5) == old.bullets and old.most == 3


def test_a_short_article_ranks_every_sentence_once():
    order = ranked_order(SENTENCES[:4], SummariserSettings(), "Quantum")
    assert sorted(order) == [0, 1, 2, 3]
