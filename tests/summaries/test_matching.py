import pytest

from summaries.matching import KeywordQuery, QueryError, TokenisedText, TopicMatcher
from summaries.models import Topic

QUANTUM = Topic("quantum", "Quantum", "", ("quantum", "QKD", "quantum key distribution"))
SPACE = Topic("satellite", "Satellites", "", ("satellite internet", "rocket"))


def test_topics_match_stemmed_words_and_phrases_with_title_weight():
    matcher = TopicMatcher([QUANTUM, SPACE])
    title = "Quantum networks expand"
    body = "Satellites and the satellite internet industry grew; rockets launched."
    # title hit (3) for quantum; phrase + stemmed "rockets" (2) for satellite
    assert matcher.scores(title, body) == {"quantum": 3.0, "satellite": 2.0}
    assert matcher.match(title, body) == ("quantum", "satellite")


def test_a_single_body_mention_is_not_enough_for_a_topic():
    matcher = TopicMatcher([QUANTUM])
    assert matcher.match("City news", "One line mentions quantum once.") == ()
    assert matcher.match("City news", "Quantum here, quantum there.") == ("quantum",)


def test_phrases_only_match_whole_consecutive_words():
    matcher = TopicMatcher([SPACE])
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
