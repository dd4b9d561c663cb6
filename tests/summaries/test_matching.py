import pytest

from summaries.matching import KeywordQuery, QueryError, TokenisedText, TopicMatcher
from summaries.models import Topic

QUANTUM = Topic("quantum", "Quantum", "", ("quantum", "QKD", "quantum key distribution"))
SPACE = Topic("satellite", "Satellites", "", ("satellite internet", "rocket"))


def test_topics_match_stemmed_words_and_phrases_with_title_weight():
    matcher = TopicMatcher([QUANTUM, SPACE])
    title = "Quantum networks expand"
    body = "Satellites and the satellite internet industry grew; rockets launched."
    # title hit (3) for quantum; phrase + stemmed "rockets": two distinct keywords (2)
    assert matcher.scores(title, body) == {"quantum": 3.0, "satellite": 2.0}
    assert matcher.match(title, body) == ("quantum",)  # 2 is under 70% of the best, 3
    assert TopicMatcher([QUANTUM, SPACE], min_share_of_best=0.5).match(title, body) == (
        "quantum",
        "satellite",
    )


def test_a_topic_needs_a_title_hit_or_several_distinct_keywords():
    matcher = TopicMatcher([QUANTUM])
    assert matcher.match("City news", "One line mentions quantum once.") == ()
    # Repeating one word is not several keywords.
    assert matcher.match("City news", "Quantum here, quantum there, quantum everywhere.") == ()
    assert matcher.match("City news", "Quantum links use QKD.") == ("quantum",)
    assert matcher.match("Quantum news", "Nothing else.") == ("quantum",)


def test_an_article_is_filed_under_what_it_is_about_not_every_passing_mention():
    trade = Topic("trade", "Trade", "", ("trade", "investment", "brand", "foreign", "enterprise"))
    culture = Topic("culture", "Culture", "", ("theatre", "nightlife", "drama", "festival"))
    matcher = TopicMatcher([trade, culture])
    title = "Theatre district lights up the nightlife"
    body = "The drama festival drew crowds; a foreign brand sponsored the night."
    assert matcher.match(title, body) == ("culture",)


def test_phrases_only_match_whole_consecutive_words():
    matcher = TopicMatcher([SPACE], min_body_keywords=1)
    assert matcher.scores("", "the satellite of internet fame")["satellite"] == 0
    assert matcher.scores("", "rocketry is not a rocket")["satellite"] == 1


def test_keyword_query_needs_every_term_and_respects_quotes():
    query = KeywordQuery.parse('drug "satellite internet"')
    assert query.text == 'drug "satellite internet"'
    text = TokenisedText.of("Drugs approved", "The satellite internet cluster")
    assert query.matches(text)
    assert not query.matches(TokenisedText.of("Drugs", "satellite and internet apart"))


def test_keyword_query_refuses_empty_and_overlong_queries():
    with pytest.raises(QueryError):
        KeywordQuery.parse('  "" !!! ')
    with pytest.raises(QueryError):
        KeywordQuery.parse(" ".join(f"word{i}" for i in range(20)))


def test_tokenising_articles_keeps_no_copy_of_their_text():
    """The phrase cache is for keywords and queries: it used to keep every tokenised
    article's words too (65,536 articles: 2.3 GB for 30,000 of 1,000 words)."""
    from summaries.matching import TokenisedText, _stemmed

    _stemmed.cache_clear()
    for number in range(50):
        body = " ".join(f"word{number}x{i}" for i in range(300))
        TokenisedText.of(f"Title number {number}", body)
    assert _stemmed.cache_info().currsize == 0
