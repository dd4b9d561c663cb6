"""Memory of a keyword digest over a large look-back window (issue 8 review, finding D).

A keyword subscription's candidates used to be found by tokenising every article of the
look-back window in memory (kept across rounds): ~30,000 articles held 310 MB. This seeds a
SQLite store with ``--articles`` synthetic articles of ~1,000 words, all inside the window, then
measures, each in a fresh process, what one keyword digest's candidate selection costs (what
`/digest` and a round run: ``Candidates.matches_for``): the resident memory before it and its
peak during it (VmHWM, reset just before), how many article texts it loaded from the store, the
matches and the time.

    .venv/bin/python benchmarks/keyword_memory.py                    # 30,000 articles
    .venv/bin/python benchmarks/keyword_memory.py --articles 5000    # smoke run

Queries: a rare word (in 1 % of the articles), and a word in every article (the worst case:
every text must be checked). The database is kept in ``--db`` (made once; delete it to
rebuild). Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.candidates import Candidates  # noqa: E402
from bot.selection import KEYWORDS, ArticleTexts  # noqa: E402
from bot.store import AsyncStore, Store, Subscription  # noqa: E402
from summaries.matching import KeywordQuery  # noqa: E402
from summaries.models import Article, Digest  # noqa: E402
from summaries.search_text import query_terms  # noqa: E402

NOW = datetime.now(UTC)
RARE_WORD = "zeppelin"
COMMON_WORD = "harbour"
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
BATCH = 500


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=30_000)
    parser.add_argument("--words", type=int, default=1_000, help="words per article")
    parser.add_argument("--db", type=Path, default=Path("/tmp/keyword_memory.sqlite3"))
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # in the child: the query
    return parser.parse_args()


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)]


def article(number: int, words: list[str], rng: random.Random, length: int) -> Article:
    # Zipf-like: a few words are everywhere, most are rare, as in news text.
    chosen = [words[min(len(words) - 1, int(rng.paretovariate(1.1)) - 1)] for _ in range(length)]
    chosen[rng.randrange(length)] = COMMON_WORD
    if number % 100 == 0:
        chosen[rng.randrange(length)] = RARE_WORD
    sentences = [" ".join(chosen[i : i + 20]).capitalize() + "." for i in range(0, length, 20)]
    return Article.create(
        source="https://example.org/feed",
        title=f"Report {number}: " + " ".join(chosen[:6]),
        paragraphs=[" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)],
        url=f"https://example.org/{number}",
        language="en",
    )


def seed(path: Path, count: int, length: int) -> None:
    store = Store.from_url(f"sqlite:///{path}")
    store.migrate()
    rng = random.Random(1)
    words = vocabulary(rng)
    started = time.perf_counter()
    try:
        for start in range(0, count, BATCH):
            items = []
            for number in range(start, min(count, start + BATCH)):
                item = article(number, words, rng, length)
                items.append((item, Digest(item.id, ("A bullet.",))))
            # Fetched within the last day: all of them are in the look-back window.
            store.add_articles(items, NOW - timedelta(seconds=count - start))
            print(f"  seeded {start + len(items)} articles", end="\r", flush=True)
    finally:
        store.close()
    print(f"seeded {count} articles in {time.perf_counter() - started:.0f} s")


def rss_mb(field: str = "VmHWM") -> float:
    """The process's peak (VmHWM) or current (VmRSS) resident memory, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Start VmHWM afresh from now (Linux: "5" to clear_refs), so the peak is the selection's."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def warm_up() -> None:
    """Load what any process that matches text loads once (stemmers, the language detector),
    so that the figures are the selection's own."""
    texts = ArticleTexts()
    texts.add(Article.create(source="warm-up", title="Warm up", paragraphs=["Ships came."]))
    query_terms(KeywordQuery.parse("warm up"))


async def measure(path: Path, query: str) -> dict[str, float]:
    store = AsyncStore(Store.from_url(f"sqlite:///{path}"))
    loaded = 0
    original = store.article_texts

    async def counting(ids):  # type: ignore[no-untyped-def]
        nonlocal loaded
        rows = await original(ids)
        loaded += len(rows)
        return rows

    store.article_texts = counting  # type: ignore[method-assign]
    services = SimpleNamespace(
        store=store,
        settings=SimpleNamespace(bot=SimpleNamespace(lookback_days=7)),
        texts=ArticleTexts(),
    )
    candidates = Candidates(services, datetime.now(UTC))  # type: ignore[arg-type]
    window = len(await candidates.window())
    warm_up()
    reset_peak()
    before = rss_mb("VmRSS")
    started = time.perf_counter()
    subscription = Subscription(KEYWORDS, KeywordQuery.parse(query).text)
    found = await candidates.matches_for([subscription])
    seconds = time.perf_counter() - started
    after = rss_mb("VmHWM")
    await store.close()
    return {
        "window": window,
        "matches": len(found[subscription]),
        "loaded": loaded,
        "before": before,
        "after": after,
        "seconds": seconds,
    }


def main() -> None:
    args = parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.db, args.measure))))
        return
    if not args.db.exists():
        seed(args.db, args.articles, args.words)
    for label, query in (("a rare word", RARE_WORD), ("a word in every article", COMMON_WORD)):
        child = subprocess.run(
            [sys.executable, __file__, "--db", str(args.db), "--measure", query],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"/digest {query} ({label}): {figures['matches']:.0f} matches of"
            f" {figures['window']:.0f} window articles; {figures['loaded']:.0f} texts loaded;"
            f" RSS {figures['before']:.0f} MB before, peak {figures['after']:.0f} MB during it"
            f" (+{figures['after'] - figures['before']:.0f} MB); {figures['seconds']:.1f} s"
        )


if __name__ == "__main__":
    main()
