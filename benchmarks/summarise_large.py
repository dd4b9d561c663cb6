"""Time `summarise` on one very large item: the cost must grow linearly (in fact stay flat).

Usage:
    python benchmarks/summarise_large.py [--sizes 0.5,1.1,2.1,8.4,10]

Builds articles of the given sizes in MB from pseudo-random English sentences (a fixed seed,
words from a built-in list, so no corpus is needed), summarises each once with the default
settings and prints the wall time and its ratio against the 1 MB item timed in the same
process. Issue 8 item 7 measured 3 / 10 / 38 s for 0.5 / 1.1 / 2.1 MB and over 3 minutes for
8.4 MB before the caps in summaries.digest (MAX_TEXT_CHARS, MAX_RANKED_SENTENCES); the target
is 10 MB in under 10 s. This is a script, never run in CI.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from summaries.digest import summarise  # noqa: E402
from summaries.models import Article  # noqa: E402

_WORDS_TEXT = (
    "the council said on monday that its new quantum network would link forty districts by "
    "next year while officials in shanghai expect investment of 2.5 billion yuan from banks "
    "and firms across the delta region as exports rose sharply in march after a slow winter "
    "engineers tested satellite links for the corridor and universities opened laboratories"
)
_WORDS = _WORDS_TEXT.split()


def make_article(megabytes: float, seed: int = 0) -> Article:
    """About `megabytes` MB of five-sentence paragraphs, each sentence different."""
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    paragraphs: list[str] = []
    size = 0
    while size < target:
        sentences = [
            " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 30))).capitalize() + "."
            for _ in range(5)
        ]
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return Article.create(source="benchmark", title="A very large item", paragraphs=paragraphs)


def timed(article: Article) -> float:
    started = time.perf_counter()
    summarise(article)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.5,1.1,2.1,8.4,10")
    args = parser.parse_args(argv)
    sizes = [float(size) for size in args.sizes.split(",")]
    timed(make_article(0.01))  # warm up: the sentence model and imports load once
    baseline = timed(make_article(1.0))
    print(f"1 MB baseline: {baseline:.2f} s")
    for size in sizes:
        seconds = timed(make_article(size))
        print(f"{size:>5.1f} MB: {seconds:6.2f} s  ratio to 1 MB {seconds / baseline:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
