"""Time the feed parser on hostile feed shapes at two sizes: which grow faster than linearly.

Usage:
    python benchmarks/hostile_feeds.py [--sizes 1,2] [--only "cdata comments"]

Each shape is one RSS item whose description is built to the given sizes in MB; the script
prints the wall time of `read_feed_entries` (what an ingestion worker runs first) for each size
and the ratio of the last to the first. A ratio near the size ratio is linear; near its square,
quadratic. Measured (issue 8 attack review, 2 cores, load about 1.4, not under the lock): HTML
comments in a CDATA description took 10 s for 1 MB and 33 s for 2 MB, so a feed under the 10 MB
fetch cap can keep a worker busy for many minutes; the bot copes by killing a worker whose poll
gave up (`summaries.threads.WorkerProcesses.run`). This is a script, never run in CI.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from summaries.sources.feeds import read_feed_entries  # noqa: E402

MB = 1 << 20


def _feed(description: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>t</title>'
        f"<link>https://example.org/1</link><description>{description}</description></item>"
        "</channel></rss>"
    ).encode()


def _cdata(text: str) -> str:
    return f"<![CDATA[{text}]]>"


SHAPES: dict[str, Callable[[int], bytes]] = {
    "escaped tags": lambda n: _feed("&lt;b&gt;x&lt;/b&gt; " * (n // 20)),
    "cdata unclosed p": lambda n: _feed(_cdata("<p>x " * (n // 5))),
    "cdata nested span": lambda n: _feed(_cdata("<span>" * (n // 13) + "</span>" * (n // 13))),
    "cdata entities": lambda n: _feed(_cdata("&amp;&#169;&eacute;" * (n // 18))),
    "cdata comments": lambda n: _feed(_cdata("<!-- c -->x" * (n // 11))),
}


def time_parse(data: bytes) -> float:
    started = time.perf_counter()
    read_feed_entries(data, "benchmark")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,2", help="description sizes in MB, comma-separated")
    parser.add_argument("--only", action="append", help="time only these shapes")
    args = parser.parse_args()
    sizes = [float(size) for size in args.sizes.split(",")]
    for name, build in SHAPES.items():
        if args.only and name not in args.only:
            continue
        seconds = [time_parse(build(int(size * MB))) for size in sizes]
        pairs = zip(sizes, seconds, strict=True)
        figures = " ".join(f"{size:g} MB {s:.1f} s" for size, s in pairs)
        print(f"{name}: {figures}; ratio {seconds[-1] / max(seconds[0], 1e-3):.1f}", flush=True)


if __name__ == "__main__":
    main()
