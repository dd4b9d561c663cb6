"""Score the summarisers on every corpus: ROUGE at k=3 and k=5, the default's CV score, speed.

Usage:
    python benchmarks/summariser.py [FOLDER] [--sets] [--all] [--markdown] [--compare-cli]

Without FOLDER: every corpus under ../shared/corpus (bbc-dev; news-dev's cnndm and duc2002).
FOLDER is one corpus laid out like bbc-dev (article/.../NNN.txt, title on the first line, and
summary/.../NNN.txt, one reference sentence per line), or with --sets one corpus per subfolder
of article/, like news-dev.

Articles are read as the product reads them (plain-text parser, our splitter, cleaning,
de-duplication, caps; cached, see benchmarks/corpora.py) and each method's digest is made by
`summarise` with default settings; k=3 and k=5 are the top 3 and 5 of the digest's stored
ranking, as a chat with /bullets 3 or 5 sees them. Per method it prints ROUGE-1, ROUGE-2 and
ROUGE-Lsum F1 x100 (rouge-score, use_stemmer=True, bullets joined by newlines) and articles per
second on one core (summarising only). "default (CV)" is the default ranker with weights chosen
by benchmarks/train_ranker.py on folds that exclude the article scored (5-fold, stratified by
corpus); "default" is the shipped weights, which saw every article here.

--compare-cli also times, as whole processes with this interpreter, the product's
`run_bot.py preview --json --source FOLDER/article` on 50 articles against the plain sumy
LexRank script (benchmarks/lexrank_baseline.py) over the same files, best of five runs each.
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

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rouge_score import rouge_scorer  # noqa: E402

from benchmarks import train_ranker  # noqa: E402
from benchmarks.corpora import SHARED, Item, corpora_in, default_corpora, load  # noqa: E402
from summaries.digest import summarise  # noqa: E402
from summaries.models import ALGORITHMS, SummariserSettings  # noqa: E402

ISSUE_METHODS = ("lead", "lexrank", "textrank", "reduction", "default")
KS = (3, 5)
CV = "default (CV)"


@dataclass(frozen=True)
class Row:
    method: str
    scores: dict[int, tuple[float, float, float]]  # k -> ROUGE-1, ROUGE-2, ROUGE-Lsum
    articles_per_second: float | None


def evaluate(items: list[Item], method: str, scorer: rouge_scorer.RougeScorer) -> Row:
    settings = SummariserSettings(bullets=max(KS), algorithm=method)
    for item in items[:3]:  # warm up: model loading and imports are not per-article costs
        summarise(item.article, settings)
    started = time.process_time()
    digests = [summarise(item.article, settings) for item in items]
    elapsed = time.process_time() - started
    scores = {}
    for k in KS:
        totals = [0.0, 0.0, 0.0]
        for item, digest in zip(items, digests, strict=True):
            result = scorer.score(item.reference, "\n".join(digest.top(k)))
            for i, name in enumerate(("rouge1", "rouge2", "rougeLsum")):
                totals[i] += result[name].fmeasure
        r1, r2, rl = (100 * total / len(items) for total in totals)
        scores[k] = (r1, r2, rl)
    return Row(method, scores, len(items) / max(elapsed, 1e-9))


def cross_validated_rows(
    loaded: dict[str, list[Item]], scorer: rouge_scorer.RougeScorer
) -> dict[str, Row]:
    """The default ranker's CV score per corpus, folds over every corpus loaded together."""
    items = train_ranker.all_items(loaded)
    orders = train_ranker.cross_validated_orders(items)
    rows = {}
    for corpus, indices in train_ranker.by_corpus(items).items():
        chosen = [items[i] for i in indices]
        chosen_orders = [orders[i] for i in indices]
        scores = {k: train_ranker.rouge_table(chosen, chosen_orders, k, scorer) for k in KS}
        rows[corpus] = Row(CV, scores, None)
    return rows


def table(k: int, rows: list[Row], markdown: bool) -> str:
    header = ("method", "ROUGE-1", "ROUGE-2", "ROUGE-Lsum", "articles/s")
    cells = [
        (
            row.method,
            *(f"{value:.1f}" for value in row.scores[k]),
            "" if row.articles_per_second is None else f"{row.articles_per_second:.0f}",
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
        lines.append("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))
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
        f"{folder.name}, whole process, best of 5: preview --json {preview_time:.2f} s, "
        f"plain sumy LexRank {baseline_time:.2f} s, ratio {preview_time / baseline_time:.2f} "
        "(<= 1.00 means the product is no slower)\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--sets", action="store_true", help="one corpus per article/ subfolder")
    parser.add_argument("--all", action="store_true", help="every algorithm, not only the five")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--compare-cli", action="store_true", help="time preview --json against plain LexRank"
    )
    args = parser.parse_args(argv)
    if args.folder is not None:
        folder = args.folder.resolve()
        if not (folder / "article").is_dir() or not (folder / "summary").is_dir():
            print(f"error: {folder} has no article/ and summary/ folders", file=sys.stderr)
            return 2
        corpora = corpora_in(folder, args.sets)
    else:
        corpora = default_corpora()
    if not corpora:
        print(f"error: no corpus found (looked under {SHARED.resolve()})", file=sys.stderr)
        return 2
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    loaded = load(corpora)
    methods = ALGORITHMS if args.all else ISSUE_METHODS
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    cross_validated = cross_validated_rows(loaded, scorer)
    for corpus, items in loaded.items():
        if not items:
            continue
        rows = [evaluate(items, method, scorer) for method in methods]
        rows.append(cross_validated[corpus])
        print(f"## {corpus}: {len(items)} articles\n")
        for k in KS:
            print(table(k, rows, args.markdown))
    if args.compare_cli:  # 50 articles: bbc-dev, or the folder given
        print(compare_cli(args.folder.resolve() if args.folder else SHARED / "bbc-dev"), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
