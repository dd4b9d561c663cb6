"""Score the summarisers on a bbc-dev style corpus: ROUGE, sentence precision and speed.

Usage:
    python benchmarks/summariser_bbc.py [FOLDER] [--all] [--markdown] [--compare-cli]

FOLDER is laid out like ../shared/corpus/bbc-dev (the default): article/<topic>/NNN.txt
(title on the first line, then the body) and summary/<topic>/NNN.txt (the reference, one
sentence per line). Articles are read as the product reads them (the plain-text parser: title
= first line, paragraphs with soft-wrapped lines) and summarised through `summarise`, the
product's pipeline (our splitter, cleaning, de-duplication, ranking, shortening), with the
default settings except the bullet count and algorithm.

For k = 3 and 5 it prints, per method: ROUGE-1, ROUGE-2 and ROUGE-Lsum F1 x100 (rouge-score,
use_stemmer=True, sentences joined by newlines), sentence precision (share of bullets that are
reference sentences, after normalising; a shortened bullet counts when it is the start of one)
and articles per second on one core (summarising only; parsing and scoring excluded).

--compare-cli also times, as whole processes with this interpreter, the product's
`run_bot.py preview --json --source FOLDER/article` against the plain sumy LexRank script
(benchmarks/lexrank_baseline.py) over the same files, best of five runs each.

This is a script, never run in CI.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# One core: pin BLAS to one thread before numpy is imported anywhere.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rouge_score import rouge_scorer  # noqa: E402

from summaries.digest import ELLIPSIS, summarise  # noqa: E402
from summaries.models import ALGORITHMS, Article, SummariserSettings, normalise_text  # noqa: E402
from summaries.sources import parse_text  # noqa: E402

DEFAULT_FOLDER = REPO / ".." / "shared" / "corpus" / "bbc-dev"
ISSUE_METHODS = ("lead", "lexrank", "textrank", "reduction", "default")
KS = (3, 5)


@dataclass(frozen=True)
class Pair:
    article: Article
    reference: str
    reference_sentences: frozenset[str]


@dataclass(frozen=True)
class Row:
    method: str
    rouge1: float
    rouge2: float
    rouge_lsum: float
    precision: float
    articles_per_second: float


def load_pairs(folder: Path) -> list[Pair]:
    pairs = []
    for path in sorted((folder / "article").rglob("*.txt")):
        reference_path = folder / "summary" / path.relative_to(folder / "article")
        result = parse_text(path.read_text(encoding="utf-8"), str(path))
        for problem in result.problems:
            print(f"warning: {problem}", file=sys.stderr)
        if len(result.articles) != 1 or not reference_path.exists():
            print(f"warning: {path}: skipped (no single article or no summary)", file=sys.stderr)
            continue
        reference = reference_path.read_text(encoding="utf-8").strip()
        sentences = frozenset(
            normalise_text(line) for line in reference.splitlines() if line.strip()
        )
        pairs.append(Pair(result.articles[0], reference, sentences))
    return pairs


def is_reference_sentence(bullet: str, pair: Pair) -> bool:
    if bullet.endswith(ELLIPSIS):
        start = normalise_text(bullet[: -len(ELLIPSIS)])
        return any(sentence.startswith(start) for sentence in pair.reference_sentences)
    return normalise_text(bullet) in pair.reference_sentences


def evaluate(pairs: list[Pair], method: str, k: int, scorer: rouge_scorer.RougeScorer) -> Row:
    settings = SummariserSettings(bullets=k, algorithm=method)
    for pair in pairs[:3]:  # warm up: model loading and imports are not per-article costs
        summarise(pair.article, settings)
    started = time.process_time()
    digests = [summarise(pair.article, settings) for pair in pairs]
    elapsed = time.process_time() - started
    totals = [0.0, 0.0, 0.0, 0.0]
    for pair, digest in zip(pairs, digests, strict=True):
        scores = scorer.score(pair.reference, "\n".join(digest.bullets))
        totals[0] += scores["rouge1"].fmeasure
        totals[1] += scores["rouge2"].fmeasure
        totals[2] += scores["rougeLsum"].fmeasure
        hits = sum(is_reference_sentence(bullet, pair) for bullet in digest.bullets)
        totals[3] += hits / max(1, len(digest.bullets))
    n = len(pairs)
    rouge1, rouge2, rouge_lsum, precision = (100 * total / n for total in totals)
    return Row(method, rouge1, rouge2, rouge_lsum, precision, n / max(elapsed, 1e-9))


def table(k: int, rows: list[Row], markdown: bool) -> str:
    header = ("method", "ROUGE-1", "ROUGE-2", "ROUGE-Lsum", "sent. precision", "articles/s")
    cells = [
        (
            row.method,
            f"{row.rouge1:.1f}",
            f"{row.rouge2:.1f}",
            f"{row.rouge_lsum:.1f}",
            f"{row.precision:.1f}",
            f"{row.articles_per_second:.0f}",
        )
        for row in rows
    ]
    if markdown:
        lines = [f"**k = {k}**", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        lines += ["| " + " | ".join(cell) + " |" for cell in cells]
        return "\n".join(lines) + "\n"
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    lines = [f"k = {k}"]
    for line in [header, *cells]:
        lines.append(
            "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        )
    return "\n".join(lines) + "\n"


def best_wall_time(command: list[str], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def compare_cli(folder: Path) -> str:
    articles = str(folder / "article")
    preview = [sys.executable, "run_bot.py", "preview", "--json", "--source", articles]
    baseline = [sys.executable, "benchmarks/lexrank_baseline.py", str(folder)]
    preview_time = best_wall_time(preview)
    baseline_time = best_wall_time(baseline)
    return (
        f"whole process, best of 5: preview --json {preview_time:.2f} s, "
        f"plain sumy LexRank {baseline_time:.2f} s, ratio {preview_time / baseline_time:.2f} "
        "(<= 1.00 means the product is no slower)\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--all", action="store_true", help="every algorithm, not only the five")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--compare-cli", action="store_true", help="time preview --json against plain LexRank"
    )
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if not (folder / "article").is_dir() or not (folder / "summary").is_dir():
        print(f"error: {folder} has no article/ and summary/ folders", file=sys.stderr)
        return 2
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pairs = load_pairs(folder)
    if not pairs:
        print(f"error: no article/summary pairs under {folder}", file=sys.stderr)
        return 2
    methods = ALGORITHMS if args.all else ISSUE_METHODS
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    print(f"{len(pairs)} articles from {folder}\n")
    for k in KS:
        rows = [evaluate(pairs, method, k, scorer) for method in methods]
        print(table(k, rows, args.markdown))
    if args.compare_cli:
        print(compare_cli(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
