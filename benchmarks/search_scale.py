"""Search at scale: 1,000,000 articles in SQLite FTS5 and PostgreSQL full-text search.

Builds a synthetic corpus (a Zipf-distributed vocabulary of made-up words, so common words
match most of the store and rare ones a handful; a share of unspaced Chinese articles), indexes
it with the store's own code (`summaries.search_text` + `bot.store.search_schema`), then times
`Store.search_articles` exactly as /search calls it (100 results, the newest 1,000 matches
ranked) for several kinds of query. Also prints the start-up cost on the loaded database
(`Store.migrate()`: nothing is rebuilt) and, as the baseline in the same process, what the
removed in-memory index cost at 20,000 articles (tokenising them at start, one O(N) scan per
query on the event loop).

    .venv/bin/python benchmarks/search_scale.py                     # 1,000,000, both engines
    .venv/bin/python benchmarks/search_scale.py --articles 20000    # smoke run
    .venv/bin/python benchmarks/search_scale.py --engines postgresql --keep-schema search_1m

PostgreSQL comes from --postgres-url or TEST_DATABASE_URL (a schema of its own, dropped after,
unless --keep-schema names one: then it is kept, and a later run with the same corpus options
skips the load and only applies the migrations it lacks, as a deployed bot would).
Its GIN index is built after the bulk load, as one would load a big archive. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.storage_scale import postgres_store, sqlite_store  # noqa: E402
from bot.handlers.search import MAX_RESULTS, RANKED_CANDIDATES  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.schema import articles  # noqa: E402
from bot.store.search_schema import index_documents  # noqa: E402
from summaries.language import has_han  # noqa: E402
from summaries.matching import KeywordQuery, TokenisedText  # noqa: E402
from summaries.search_text import query_terms, search_document  # noqa: E402

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
LOAD_BATCH = 5_000
BASELINE_ARTICLES = 20_000
_CHINESE = (
    "上海 北京 量子 通信 网络 城市 银行 医院 卫星 互联网 火箭 工厂 博物馆 展览 绘画 世纪 经济 "
    "市场 政府 政策 学校 学生 老师 医生 科技 公司 产品 服务 交通 地铁 机场 铁路 天气 气温 "
    "比赛 球队 运动员 音乐 电影 演员 新闻 记者 发布 会议 计划 项目 投资 发展 建设 合作 国际 "
    "环境 能源 电力 汽车 电池 芯片 数据"
)
CHINESE_WORDS = _CHINESE.split()
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


@dataclass
class Corpus:
    """Deterministic synthetic articles: Zipf word frequencies, a share in Chinese."""

    vocabulary: list[str]
    weights: list[float]
    body_words: int
    chinese_share: float
    seed: int

    @classmethod
    def build(cls, args: argparse.Namespace) -> Corpus:
        rng = random.Random(args.seed)
        words: dict[str, None] = {}
        while len(words) < args.vocabulary:
            words["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))] = None
        vocabulary = list(words)
        weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(vocabulary))]
        return cls(vocabulary, weights, args.body_words, args.chinese_share, args.seed)

    def articles(self, count: int) -> Iterator[tuple[str, str, str]]:
        """(id, title, body) for `count` articles, the same every run (see `language_of`)."""
        rng = random.Random(self.seed + 1)
        for number in range(count):
            if rng.random() < self.chinese_share:
                title = "".join(rng.choices(CHINESE_WORDS, k=5))
                body = "".join(rng.choices(CHINESE_WORDS, k=self.body_words)) + "。"
            else:
                picks = rng.choices(self.vocabulary, self.weights, k=self.body_words + 8)
                title = " ".join(picks[:8]).capitalize()
                body = ". ".join(
                    " ".join(picks[start : start + 12]).capitalize()
                    for start in range(8, len(picks), 12)
                )
            yield f"a{number:09d}", title, body


def language_of(title: str) -> str:
    return "zh" if has_han(title) else "en"


def article_row(key: str, title: str, body: str, number: int) -> dict[str, Any]:
    fetched = NOW + timedelta(seconds=number)
    return {
        "id": key,
        "source": "https://example.org/feed",
        "title": title,
        "url": f"https://example.org/{key}",
        "published": fetched,
        "tags": (),
        "paragraphs": (body,),
        "fetched_at": fetched,
        "bullets": (body[:200],),
        "topics": (),
        "keywords": (),
        "algorithm": "default",
        "language": language_of(title),
        "digest_updated_at": fetched,
    }


def load(stores: dict[str, Store], corpus: Corpus, count: int) -> dict[str, float]:
    """Insert articles and their index documents in batches; seconds spent per engine
    (tokenising is shared and counted separately under "tokenise")."""
    spent = dict.fromkeys([*stores, "tokenise"], 0.0)
    batch: list[tuple[dict[str, Any], Any]] = []

    def flush() -> None:
        for name, store in stores.items():
            started = time.perf_counter()
            with store.engine.begin() as conn:
                conn.execute(insert(articles), [row for row, _ in batch])
                index_documents(conn, ((row["id"], doc) for row, doc in batch))
            spent[name] += time.perf_counter() - started
        batch.clear()

    for number, (key, title, body) in enumerate(corpus.articles(count)):
        started = time.perf_counter()
        document = search_document(title, body, language_of(title))
        spent["tokenise"] += time.perf_counter() - started
        batch.append((article_row(key, title, body, number), document))
        if len(batch) >= LOAD_BATCH:
            flush()
            if (number + 1) % 100_000 == 0:
                print(f"  loaded {number + 1:,}", flush=True)
    if batch:
        flush()
    return spent


def queries(corpus: Corpus, per_kind: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    vocab = corpus.vocabulary
    # Phrases people look for exist in the text: adjacent words from stored articles.
    bodies = [body.split() for _, _, body in corpus.articles(2000)]
    latin = [body for body in bodies if len(body) > 1]

    def phrase() -> str:
        body = rng.choice(latin)
        start = rng.randrange(len(body) - 1)
        return '"' + " ".join(word.strip(".") for word in body[start : start + 2]) + '"'

    def word(low: int, high: int) -> str:
        return vocab[rng.randrange(low, min(high, len(vocab)))]

    return {
        "common word (rank 1-100)": [word(0, 100) for _ in range(per_kind)],
        "mid word (rank 100-2,000)": [word(100, 2000) for _ in range(per_kind)],
        "rare word (rank 2,000+)": [word(2000, len(vocab)) for _ in range(per_kind)],
        "two words (rank 1-5,000)": [f"{word(0, 5000)} {word(0, 5000)}" for _ in range(per_kind)],
        "phrase (from an article)": [phrase() for _ in range(per_kind)],
        "Chinese word": [rng.choice(CHINESE_WORDS) for _ in range(per_kind)],
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_queries(store: Store, kinds: dict[str, list[str]]) -> dict[str, list[float]]:
    """Milliseconds per query of each kind, after one untimed pass to warm caches."""
    prepared = {
        kind: [query_terms(KeywordQuery.parse(words)) for words in texts]
        for kind, texts in kinds.items()
    }

    def run(terms: Any) -> None:
        store.search_articles(terms, limit=MAX_RESULTS, candidates=RANKED_CANDIDATES)

    for terms_list in prepared.values():
        for terms in terms_list:
            run(terms)
    timings: dict[str, list[float]] = {}
    for kind, terms_list in prepared.items():
        timings[kind] = []
        for terms in terms_list:
            started = time.perf_counter()
            run(terms)
            timings[kind].append((time.perf_counter() - started) * 1000)
    return timings


def print_timings(engine: str, timings: dict[str, list[float]]) -> float:
    everything = [value for values in timings.values() for value in values]
    print(f"\n{engine}: query latency, ms (limit {MAX_RESULTS}, {RANKED_CANDIDATES} ranked)")
    print(f"  {'kind':<28} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8}")
    for kind, values in {**timings, "all": everything}.items():
        print(
            f"  {kind:<28} {len(values):>4} {statistics.median(values):>8.1f} "
            f"{percentile(values, 0.95):>8.1f} {max(values):>8.1f}"
        )
    return percentile(everything, 0.95)


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def baseline(corpus: Corpus, kinds: dict[str, list[str]]) -> None:
    """The removed design: tokenise every article at start, scan them all per query."""
    sample = list(corpus.articles(BASELINE_ARTICLES))
    texts, seconds = timed(lambda: [TokenisedText.of(title, body) for _, title, body in sample])
    print(f"\nbaseline, in-memory index of {len(texts):,} articles (removed)")
    print(f"  start-up rebuild: {seconds:.2f} s")
    parsed = [KeywordQuery.parse(words) for values in kinds.values() for words in values[:10]]
    scan_ms = []
    for query in parsed:
        _, spent = timed(lambda q=query: [t for t in texts if q.matches(t)])
        scan_ms.append(spent * 1000)
    print(
        f"  one query (scan only, before ranking): p50 {statistics.median(scan_ms):.0f} ms, "
        f"p95 {percentile(scan_ms, 0.95):.0f} ms"
    )


def postgres_finish_load(store: Store, drop: bool) -> float:
    """Drop the GIN index before a bulk load, or build it after one; returns seconds."""
    with store.engine.begin() as conn:
        if drop:
            conn.execute(text("DROP INDEX ix_article_search_document"))
            return 0.0
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        started = time.perf_counter()
        conn.execute(
            text("CREATE INDEX ix_article_search_document ON article_search USING GIN (document)")
        )
        conn.execute(text("ANALYZE articles"))
        conn.execute(text("ANALYZE article_search"))
        return time.perf_counter() - started


def startup_seconds(store: Store) -> float:
    """What the bot does with its store at start: open it and apply missing migrations."""
    reopened = Store.from_url(store.engine.url.render_as_string(hide_password=False))
    try:
        return timed(reopened.migrate)[1]
    finally:
        reopened.close()


def corpus_key(args: argparse.Namespace) -> str:
    """What a kept schema was loaded with; a run with other options loads afresh."""
    options = ("articles", "body_words", "vocabulary", "chinese_share", "seed")
    return json.dumps({name: getattr(args, name) for name in options}, sort_keys=True)


@contextmanager
def kept_postgres_store(base_url: str, schema: str, key: str) -> Iterator[tuple[Store, bool]]:
    """A store in `schema`, kept after the run; True when it already holds the corpus `key`
    (recorded as the schema's comment once a load has finished), else emptied for a load."""
    libpq = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        row = admin.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            (schema,),
        ).fetchone()
        loaded = row is not None and row[0] == key
        if not loaded:
            admin.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    store = Store.from_url(url.render_as_string(hide_password=False))
    try:
        yield store, loaded
    finally:
        store.close()


def mark_loaded(base_url: str, schema: str, key: str) -> None:
    libpq = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(
            sql.SQL("COMMENT ON SCHEMA {} IS {}").format(sql.Identifier(schema), sql.Literal(key))
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--body-words", type=int, default=80, help="words per article body")
    parser.add_argument("--vocabulary", type=int, default=30_000)
    parser.add_argument("--chinese-share", type=float, default=0.02)
    parser.add_argument("--queries", type=int, default=100, help="queries of each kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL server (default: TEST_DATABASE_URL); a schema is created and dropped",
    )
    parser.add_argument(
        "--keep-schema",
        metavar="NAME",
        help="keep PostgreSQL's data in schema NAME; reuse it when it holds the same corpus",
    )
    parser.add_argument(
        "--engines", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    return parser.parse_args()


def open_stores(
    stack: ExitStack, args: argparse.Namespace, engines: list[str]
) -> tuple[dict[str, Store], set[str]]:
    """The stores to time, and which of them (a kept schema) already hold the corpus."""
    stores: dict[str, Store] = {}
    loaded: set[str] = set()
    if "sqlite" in engines:
        stores["sqlite"] = stack.enter_context(sqlite_store(args))
    if "postgresql" in engines and args.postgres_url:
        if args.keep_schema:
            store, kept = stack.enter_context(
                kept_postgres_store(args.postgres_url, args.keep_schema, corpus_key(args))
            )
            stores["postgresql"] = store
            if kept:
                loaded.add("postgresql")
        else:
            stores["postgresql"] = stack.enter_context(postgres_store(args.postgres_url))
    return stores, loaded


def load_stores(stores: dict[str, Store], corpus: Corpus, args: argparse.Namespace) -> None:
    for store in stores.values():
        store.migrate()
    if "postgresql" in stores:
        postgres_finish_load(stores["postgresql"], drop=True)
    started = time.perf_counter()
    spent = load(stores, corpus, args.articles)
    print(f"\nloaded {args.articles:,} articles of {args.body_words} body words")
    print(f"  tokenising (shared): {spent['tokenise']:.0f} s")
    for name in stores:
        print(f"  {name}: inserting rows and index: {spent[name]:.0f} s")
    if "postgresql" in stores:
        seconds = postgres_finish_load(stores["postgresql"], drop=False)
        print(f"  postgresql: building the GIN index: {seconds:.0f} s")
        if args.keep_schema:
            mark_loaded(args.postgres_url, args.keep_schema, corpus_key(args))
    minutes = (time.perf_counter() - started) / 60
    print(
        f"  the whole load (making articles, tokenising, inserting, indexing): {minutes:.1f} min"
    )


def main() -> None:
    args = parse_args()
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    corpus = Corpus.build(args)
    kinds = queries(corpus, args.queries, args.seed)
    print(json.dumps({k: v for k, v in vars(args).items() if k != "postgres_url"}))
    with ExitStack() as stack:
        stores, loaded = open_stores(stack, args, engines)
        for name in loaded:
            seconds = timed(stores[name].migrate)[1]
            print(
                f"{name}: reusing schema {args.keep_schema}; new migrations took {seconds:.1f} s"
            )
        to_load = {name: store for name, store in stores.items() if name not in loaded}
        if to_load:
            load_stores(to_load, corpus, args)
        for name, store in stores.items():
            print(
                f"  {name}: start-up (open + migrate) on the loaded database: "
                f"{startup_seconds(store) * 1000:.0f} ms"
            )
        for name, store in stores.items():
            p95 = print_timings(name, time_queries(store, kinds))
            verdict = "meets" if p95 < 50 else "MISSES"
            print(f"  {name}: p95 over all queries {p95:.1f} ms ({verdict} the 50 ms target)")
    if not args.no_baseline:
        baseline(corpus, kinds)


if __name__ == "__main__":
    main()
