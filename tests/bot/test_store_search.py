"""Full-text search and saved searches in the store, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text

from bot.store import SavedSearch, Store
from bot.store.schema import articles
from summaries.matching import KeywordQuery
from summaries.models import Article, Digest
from summaries.search_text import query_terms

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def article(title: str, body: str, url: str | None = None) -> tuple[Article, Digest]:
    item = Article.create(source="test", title=title, paragraphs=[body], url=url)
    return item, Digest(item.id, (body,))


def add(store: Store, *items: tuple[Article, Digest], at: datetime = NOW) -> list[str]:
    return store.add_articles(list(items), at)


def search(store: Store, words: str, limit: int = 50, candidates: int = 1000) -> list[str]:
    terms = query_terms(KeywordQuery.parse(words))
    hits = store.search_articles(terms, limit=limit, candidates=candidates)
    return [hit.article_id for hit in hits]


def test_search_ranks_title_hits_and_frequency_first(store: Store) -> None:
    budget, network, art = (
        article("Budget news", "A quantum lab opened. Other things happened today."),
        article("Quantum network launched", "The quantum network links nine cities."),
        article("Art show", "Paintings from six centuries."),
    )
    add(store, budget, network, art)
    assert search(store, "quantum") == [network[0].id, budget[0].id]
    assert search(store, "Quantum PAINTINGS") == []
    assert search(store, "paintings") == [art[0].id]


def test_search_stems_words_and_matches_quoted_phrases(store: Store) -> None:
    together, apart = (
        article("Plan", "The satellite internet cluster grows."),
        article("Other", "A satellite fell; the internet was down."),
    )
    add(store, together, apart)
    assert set(search(store, "satellites")) == {together[0].id, apart[0].id}
    assert search(store, '"satellite internet"') == [together[0].id]
    assert search(store, "don't") == []


def test_search_finds_chinese_words_inside_unspaced_text(store: Store) -> None:
    shanghai, other = (
        article(
            "上海量子通信网络连接九个城市", "长三角量子通信网络正式开通，银行和医院将率先使用。"
        ),
        article("博物馆画展", "浦东美术馆展出六个世纪的绘画作品。"),
    )
    add(store, shanghai, other)
    assert search(store, "量子") == [shanghai[0].id]
    assert search(store, "量子通信") == [shanghai[0].id]
    assert search(store, "绘画") == [other[0].id]
    assert search(store, "量子 绘画") == []


@pytest.mark.parametrize("code", ["de", "fr", "es", "ru"])
def test_a_query_finds_the_inflected_word_in_an_article_of_that_language(
    store: Store, code: str
) -> None:
    from dataclasses import replace

    from tests.summaries.test_language import INFLECTED, TEXTS

    item, digest = article("", TEXTS[code])
    add(store, (replace(item, language=code), digest))
    inflected, base = INFLECTED[code]
    assert search(store, inflected) == [item.id]
    assert search(store, base) == [item.id]


def test_only_the_newest_candidates_are_ranked_and_limit_applies(store: Store) -> None:
    items = [article(f"Report {n}", f"quantum report number {n}") for n in range(12)]
    for offset, item in enumerate(items):
        add(store, item, at=NOW + timedelta(minutes=offset))
    newest_five = {item[0].id for item in items[-5:]}
    assert set(search(store, "quantum", limit=5, candidates=5)) == newest_five
    assert len(search(store, "quantum", limit=3)) == 3


def test_re_adding_an_article_does_not_index_it_twice(store: Store) -> None:
    item = article("Quantum", "quantum things")
    add(store, item)
    add(store, item)
    assert search(store, "quantum") == [item[0].id]


def test_deleting_an_article_removes_it_from_the_index(store: Store) -> None:
    kept, pruned = article("Kept", "quantum kept"), article("Pruned", "quantum pruned")
    add(store, kept, pruned)
    with store.engine.begin() as conn:
        conn.execute(delete(articles).where(articles.c.id == pruned[0].id))
    assert search(store, "quantum") == [kept[0].id]
    assert search(store, "pruned") == []


def test_control_and_operator_like_input_is_only_words(store: Store) -> None:
    item = article("Or and not", "near the colon: title AND body OR (quantum)")
    add(store, item)
    for words in ("title:quantum", "NEAR(quantum)", "quantum OR", "body & !", "a*"):
        terms = query_terms(KeywordQuery.parse(words))
        store.search_articles(terms, limit=5, candidates=10)  # no syntax error on either engine


def test_migration_indexes_articles_stored_before_it(store_url: str) -> None:
    from bot.store import migrations
    from bot.store.schema import MIGRATIONS

    old = Store.from_url(store_url)
    try:
        search_at = next(i for i, m in enumerate(MIGRATIONS) if "search index" in m.name)
        before_search = MIGRATIONS[:search_at]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(migrations, "MIGRATIONS", before_search)
            old.migrate()
        item = article("Quantum before search", "stored before the index existed")
        with old.engine.begin() as conn:
            from bot.store.articles import add_articles

            add_articles(conn, [item], NOW)  # as stored before the index existed
        old.migrate()
        assert search(old, "quantum") == [item[0].id]
    finally:
        old.close()


def saved(search_id: str, ids: tuple[str, ...] = ("a", "b"), *, hours: float = 1) -> SavedSearch:
    return SavedSearch(search_id, "quantum", ids, NOW + timedelta(hours=hours))


def test_saved_searches_are_bounded_per_chat_and_expire(store: Store) -> None:
    for n in range(5):
        store.save_search(7, saved(f"s{n}"), NOW, keep=3)
    store.save_search(8, saved("other"), NOW, keep=3)
    assert store.get_saved_search(7, "s0", NOW) is None
    assert store.get_saved_search(7, "s1", NOW) is None
    kept = store.get_saved_search(7, "s4", NOW)
    assert kept is not None and kept.article_ids == ("a", "b") and kept.query == "quantum"
    assert store.get_saved_search(8, "s4", NOW) is None  # another chat's id finds nothing
    later = NOW + timedelta(hours=2)
    assert store.get_saved_search(7, "s4", later) is None
    store.save_search(9, saved("new", hours=5), later, keep=3)  # expired rows are swept
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM saved_searches")).scalar_one() == 1


def test_deleting_a_chat_forgets_its_saved_searches(store: Store) -> None:
    from bot.store import ChatDefaults

    store.ensure_chat(7, "private", "Alice", ChatDefaults(), None)
    store.save_search(7, saved("s"), NOW, keep=3)
    store.delete_chat(7)
    assert store.get_saved_search(7, "s", NOW) is None


def test_postgres_plans_each_search_for_its_own_words(store: Store) -> None:
    """A generic plan (psycopg prepares after five runs) cannot see a rare word and walked a
    million articles newest first; each search is planned for its words instead."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache only")
    from bot.store.search import search_articles

    add(store, article("Quantum network launched", "The quantum network links nine cities."))
    terms = query_terms(KeywordQuery.parse("quantum"))
    with store.engine.begin() as conn:
        assert search_articles(conn, terms, limit=5, candidates=100)
        assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
    with store.engine.begin() as conn:  # the setting ends with the search's transaction
        assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "auto"


def test_postgres_keeps_detailed_word_statistics_for_the_planner(store: Store) -> None:
    """With the default statistics target most words are outside the column's most common
    elements, and the planner misjudged how many articles hold them: at 300,000 articles the
    p95 of rare words was 196 ms (6.6 ms with the detailed statistics)."""
    target = postgres_catalog(
        store,
        "SELECT attstattarget FROM pg_attribute "
        "WHERE attrelid = 'article_search'::regclass AND attname = 'document'",
    )
    assert target == 2000


def postgres_catalog(store: Store, query: str) -> object:
    """One value from PostgreSQL's catalog (the test is skipped on SQLite)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's catalog only")
    with store.engine.connect() as conn:
        return conn.execute(text(query)).scalar()


def window_search(store: Store, words: str, *, limit: int, candidates: int) -> list[str]:
    """Search with windows of two rows, so that the newest matches span many windows."""
    from bot.store.search import search_articles

    terms = query_terms(KeywordQuery.parse(words))
    with store.engine.begin() as conn:
        hits = search_articles(conn, terms, limit=limit, candidates=candidates, first_window=2)
    return [hit.article_id for hit in hits]


def test_window_search_ranks_exactly_the_newest_matches_across_windows(store: Store) -> None:
    """Matches spread over many small windows: the newest `candidates` of them, and only
    they, are ranked, whether the query is a word, several words or a phrase."""
    bodies = {
        "both": "the quantum network links cities",
        "apart": "a network of labs; quantum results",  # both words, not as a phrase
        "quantum": "quantum results only",
        "network": "network news only",
        "neither": "paintings from six centuries",
    }
    kinds = ["both", "neither", "apart", "quantum", "neither", "network", "both"] * 4
    stored: list[tuple[str, str]] = []  # (kind, id), oldest first
    for number, kind in enumerate(kinds):
        item = article(f"Report {number}", bodies[kind])
        add(store, item, at=NOW + timedelta(minutes=number))
        stored.append((kind, item[0].id))

    def newest(accepted: set[str], count: int) -> set[str]:
        return {key for kind, key in stored if kind in accepted}.intersection(
            [key for kind, key in reversed(stored) if kind in accepted][:count]
        )

    for words, accepted in (
        ("quantum", {"both", "apart", "quantum"}),
        ("quantum network", {"both", "apart"}),
        ('"quantum network"', {"both"}),
        ("paintings", {"neither"}),
    ):
        for candidates in (1, 3, 5, 100):
            found = window_search(store, words, limit=candidates, candidates=candidates)
            assert len(found) == len(set(found))
            assert set(found) == newest(accepted, candidates), (words, candidates)


def test_window_search_finds_a_sparse_phrase_among_its_words(store: Store) -> None:
    """Few rows hold the phrase but many its words: the search leaves walking for the index."""
    apart = [article(f"Report {n}", "a network of labs; quantum results") for n in range(30)]
    phrase = article("Launch", "the quantum network links cities")
    add(store, phrase, at=NOW)
    for offset, item in enumerate(apart):
        add(store, item, at=NOW + timedelta(minutes=1 + offset))
    assert window_search(store, '"quantum network"', limit=5, candidates=5) == [phrase[0].id]


def test_window_search_ranks_before_it_limits(store: Store) -> None:
    """The best match among the newest candidates wins even when it is in an older window
    than the others; a better match older than the candidates is not ranked."""
    old_title = article("Quantum quantum", "quantum in the title, too old to be ranked")
    title = article("Quantum", "quantum in the title and the body")
    add(store, old_title, at=NOW)
    add(store, title, at=NOW + timedelta(minutes=1))
    plain = [article(f"Report {n}", f"a quantum report, number {n}") for n in range(6)]
    for offset, item in enumerate(plain):
        add(store, item, at=NOW + timedelta(minutes=2 + offset))
    found = window_search(store, "quantum", limit=3, candidates=7)
    assert found[0] == title[0].id
    assert found[1:] == [plain[-1][0].id, plain[-2][0].id]  # equal scores: newest first
    assert old_title[0].id not in window_search(store, "quantum", limit=7, candidates=7)


def test_postgres_windows_of_newest_rows_have_an_index(store: Store) -> None:
    """Without it a window's GIN matches are fetched from the whole table, then filtered."""
    method = postgres_catalog(
        store,
        "SELECT am.amname FROM pg_class AS c JOIN pg_am AS am ON am.oid = c.relam "
        "WHERE c.relname = 'ix_article_search_seq'",
    )
    assert method == "brin"


def test_postgres_search_leaves_the_scan_settings_as_it_found_them(store: Store) -> None:
    """A window asks the GIN index by turning plain index scans off; whatever runs after the
    search in the same transaction plans as usual."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner settings only")
    from bot.store.search import search_articles

    satellite = article("Launch", "quantum satellite")
    add(store, satellite, at=NOW)
    for n in range(6):
        add(store, article(f"Report {n}", "quantum report"), at=NOW + timedelta(minutes=1 + n))
    terms = query_terms(KeywordQuery.parse("satellite"))  # none among the newest: ask the index
    with store.engine.begin() as conn:
        hits = search_articles(conn, terms, limit=5, candidates=5, first_window=2)
        assert [hit.article_id for hit in hits] == [satellite[0].id]
        assert conn.execute(text("SELECT current_setting('enable_indexscan')")).scalar() == "on"
