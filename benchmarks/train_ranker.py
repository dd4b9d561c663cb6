"""Train the default ranker's weights, report their cross-validated scores, write the data file.

Usage:
    python benchmarks/train_ranker.py [--write] [--ablation] [--folds 5]

Training data: every corpus of benchmarks/corpora.py (bbc-dev, news-dev cnndm and duc2002),
pooled. One set of weights serves every article (no per-corpus switch).

The model is linear over `summaries.ranker.FEATURES`; training searches a small family of
weight vectors by the score they get (ROUGE-2 F1 of the top 3, an in-process approximation of
rouge-score): centrality (plain, or with edges to later sentences), plus `a` x a position prior
exp(-i/2), plus `b` x headline overlap, minus `q` x each quality flag (fragment, question,
opening quote; `q` is at least 0.2, since fragments must rank down). It keeps the vector with
the best mean over the corpora among those that hold the BBC floors (k=3 at least 60.5, k=5 at
least 71.5, a little above the issue's 60/71 so that held-out articles keep them). Why a
constrained search and not a regression: ridge regression onto oracle labels over all features
(printed as "ridge") fits the news sets better but drops BBC below its floor (k=5 about 66),
and more BBC weight in the regression buys the floor back only by giving up more on news than
the search does.

Cross-validation: articles are split into 5 folds, stratified by corpus (seed 0); each fold is
ranked by weights chosen on the other four, so no figure printed as "CV" comes from weights
chosen with the article scored. Scores: ROUGE-2 F1 x100 (rouge-score, use_stemmer=True, bullets
joined by newlines, as the product shows them: shortened, in article order) at k=3 and k=5.

--ablation repeats the cross-validated search without each signal and prints what it adds.
--write chooses on all articles and writes summaries/data/ranker.json (the shipped model).
This is a script, never run in CI.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.corpora import Item, default_corpora, load, rouge2_f1  # noqa: E402
from summaries.ranker import FEATURES, LinearRanker  # noqa: E402

MODEL_PATH = REPO / "summaries" / "data" / "ranker.json"
BBC = "bbc-dev"
BBC_FLOORS = {3: 60.5, 5: 71.5}
# The searched family (see the module docstring).
PRIOR_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)
# Never 0: issue 7 requires fragments to be ranked down whatever the corpora prefer (the
# ablation shows what the flags cost or add against 0).
QUALITY_WEIGHTS = (0.2, 0.5)
HEADLINE_WEIGHTS = (0.0, 0.2)
CENTRALITIES = ("centrality", "centrality+later")
QUALITY_FLAGS = ("is_fragment", "is_question", "starts_with_quote")
RIDGE = 1e-3  # fixed in advance; mild, only to keep the solve well conditioned
FOLDS = 5
KS = (3, 5)
# Feature groups for the ablation: what each signal adds.
GROUPS = {
    "position": (
        "is_first",
        "is_second",
        "is_third",
        "relative_position",
        "log_position",
        "relative_position_x_log_sentences",
    ),
    "headline": ("headline_overlap",),
    "centrality": ("centrality", "centrality_rank"),
    "position-aware edges": ("edges_to_later", "edges_to_earlier"),
    "length": ("log_length", "is_short", "is_long"),
    "quality flags": ("is_fragment", "is_question", "starts_with_quote", "has_quote"),
}


def family(prior: float, quality: float, headline: float, centrality: str) -> np.ndarray:
    """One weight vector of the searched family."""
    weights = np.zeros(len(FEATURES))
    index = FEATURES.index
    if centrality == "centrality":
        weights[index("centrality")] = 1.0
    else:  # position-aware: edges to later sentences count as much again
        weights[index("centrality")] = 0.5
        weights[index("edges_to_later")] = 0.5
    weights[index("position_prior")] = prior
    weights[index("headline_overlap")] = headline
    for flag in QUALITY_FLAGS:
        weights[index(flag)] = -quality
    return weights


def candidates(without: str = "") -> list[np.ndarray]:
    """The family, less one signal for the ablation."""
    return [
        family(prior, quality, headline, centrality)
        for prior in (PRIOR_WEIGHTS if without != "position" else (0.0,))
        for quality in (QUALITY_WEIGHTS if without != "quality flags" else (0.0,))
        for headline in (HEADLINE_WEIGHTS if without != "headline" else (0.0,))
        for centrality in (CENTRALITIES if without != "position-aware edges" else CENTRALITIES[:1])
    ]


def quick_rouge2(items: Sequence[Item], weights: np.ndarray, k: int) -> dict[str, float]:
    """Mean approximate ROUGE-2 F1 x100 per corpus of the top k under `weights`."""
    totals: dict[str, list[float]] = {}
    for item in items:
        if not item.sentences:
            continue
        order = order_by(np.asarray(item.features) @ weights)
        chosen = [item.bigrams[i] for i in sorted(order[:k])]
        totals.setdefault(item.corpus, []).append(rouge2_f1(chosen, item.reference_bigrams))
    return {corpus: 100 * float(np.mean(values)) for corpus, values in totals.items()}


def fit(items: Sequence[Item], without: str = "") -> np.ndarray:
    """The family member with the best mean over corpora that holds the BBC floors."""
    best: tuple[float, np.ndarray] | None = None
    fallback: tuple[float, np.ndarray] | None = None
    for weights in candidates(without):
        at = {k: quick_rouge2(items, weights, k) for k in BBC_FLOORS}
        mean = float(np.mean(list(at[3].values())))
        holds = all(at[k].get(BBC, floor) >= floor for k, floor in BBC_FLOORS.items())
        if holds and (best is None or mean > best[0]):
            best = (mean, weights)
        bbc = at[3].get(BBC, 0.0)
        if fallback is None or bbc > fallback[0]:
            fallback = (bbc, weights)
    chosen = best or fallback
    assert chosen is not None
    return chosen[1]


def ridge_fit(items: Sequence[Item], columns: Sequence[int] | None = None) -> np.ndarray:
    """Ridge weights over `columns` (all features by default) onto the oracle labels; corpora
    weighted alike. Reported for comparison, not shipped (see the module docstring)."""
    cols = list(range(len(FEATURES))) if columns is None else list(columns)
    per_corpus: dict[str, int] = {}
    for item in items:
        per_corpus[item.corpus] = per_corpus.get(item.corpus, 0) + 1
    gram = np.zeros((len(cols), len(cols)))
    moment = np.zeros(len(cols))
    for item in items:
        if not item.sentences:
            continue
        x = np.asarray(item.features)[:, cols]
        y = np.asarray(item.oracle)
        weight = 1.0 / per_corpus[item.corpus] / len(y)  # each article, each corpus alike
        gram += weight * x.T @ x
        moment += weight * x.T @ y
    solved: np.ndarray = np.linalg.solve(gram + RIDGE * np.eye(len(cols)), moment)
    weights = np.zeros(len(FEATURES))
    weights[cols] = solved
    return weights


def folds_of(items: Sequence[Item], folds: int = FOLDS, seed: int = 0) -> list[int]:
    """A fold number per item, stratified by corpus."""
    rng = random.Random(seed)
    fold = [0] * len(items)
    for corpus in sorted({item.corpus for item in items}):
        members = [i for i, item in enumerate(items) if item.corpus == corpus]
        rng.shuffle(members)
        for position, index in enumerate(members):
            fold[index] = position % folds
    return fold


def order_by(scores: Sequence[float]) -> list[int]:
    return sorted(range(len(scores)), key=lambda index: (-scores[index], index))


def cross_validated_orders(
    items: Sequence[Item],
    folds: int = FOLDS,
    trainer: Callable[[Sequence[Item]], np.ndarray] = fit,
) -> list[list[int]]:
    """Each item's sentence order under weights chosen without its fold."""
    fold = folds_of(items, folds)
    orders: list[list[int]] = [[] for _ in items]
    for held_out in range(folds):
        weights = trainer([item for i, item in enumerate(items) if fold[i] != held_out])
        for i, item in enumerate(items):
            if fold[i] == held_out and item.sentences:
                orders[i] = order_by(np.asarray(item.features) @ weights)
    return orders


def shipped_orders(items: Sequence[Item], weights: Sequence[float]) -> list[list[int]]:
    model = LinearRanker(tuple(weights))
    return [order_by(model.scores(item.features)) if item.sentences else [] for item in items]  # type: ignore[arg-type]


def bullets_for(item: Item, order: Sequence[int], k: int) -> list[str]:
    return [item.bullets[index] for index in sorted(order[:k])]


def rouge_table(
    items: Sequence[Item], orders: Sequence[Sequence[int]], k: int, scorer: object
) -> tuple[float, float, float]:
    """Mean ROUGE-1, ROUGE-2, ROUGE-Lsum F1 x100 of the top-k bullets."""
    totals = np.zeros(3)
    for item, order in zip(items, orders, strict=True):
        scores = scorer.score(item.reference, "\n".join(bullets_for(item, order, k)))  # type: ignore[attr-defined]
        totals += [scores[name].fmeasure for name in ("rouge1", "rouge2", "rougeLsum")]
    mean = 100 * totals / max(1, len(items))
    return float(mean[0]), float(mean[1]), float(mean[2])


def by_corpus(items: Sequence[Item]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(item.corpus, []).append(index)
    return groups


def rouge2_per_corpus(
    items: Sequence[Item], orders: Sequence[Sequence[int]], k: int, scorer: object
) -> dict[str, float]:
    result = {}
    for corpus, indices in by_corpus(items).items():
        chosen = [items[i] for i in indices]
        result[corpus] = rouge_table(chosen, [orders[i] for i in indices], k, scorer)[1]
    return result


def ablation(items: Sequence[Item], scorer: object, k: int = 3) -> list[str]:
    full = rouge2_per_corpus(items, cross_validated_orders(items), k, scorer)
    lines = [
        f"ablation, ROUGE-2 F1 x100 at k={k}, cross-validated; full model: "
        + ", ".join(f"{c} {v:.1f}" for c, v in full.items()),
        "signal removed -> change on each corpus (negative: the signal helps)",
    ]
    for signal in ("position", "headline", "position-aware edges", "quality flags"):
        orders = cross_validated_orders(items, trainer=lambda train, s=signal: fit(train, s))
        without = rouge2_per_corpus(items, orders, k, scorer)
        changes = ", ".join(f"{c} {without[c] - full[c]:+.1f}" for c in full)
        lines.append(f"  without {signal:<22} {changes}")
    centrality_only = rouge2_per_corpus(
        items, shipped_orders(items, family(0.0, 0.0, 0.0, "centrality")), k, scorer
    )
    lines.append(
        "  centrality alone (the old default): "
        + ", ".join(f"{c} {v:.1f}" for c, v in centrality_only.items())
    )
    return lines


def all_items(loaded: dict[str, list[Item]]) -> list[Item]:
    return [item for items in loaded.values() for item in items]


def write_model(weights: Sequence[float], path: Path = MODEL_PATH) -> None:
    import json

    description = (
        "Chosen by benchmarks/train_ranker.py on bbc-dev, news-dev/cnndm and news-dev/duc2002 "
        "pooled: the member of a small family (centrality, position prior, headline overlap, "
        "quality flags) with the best mean ROUGE-2 at k=3 that keeps bbc-dev at least "
        "60.5 (k=3) and 71.5 (k=5)."
    )
    model = LinearRanker(tuple(round(float(w), 6) for w in weights), description)
    path.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from rouge_score import rouge_scorer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write summaries/data/ranker.json")
    parser.add_argument("--ablation", action="store_true", help="what each signal adds")
    parser.add_argument("--folds", type=int, default=FOLDS)
    args = parser.parse_args(argv)
    corpora = default_corpora()
    if not corpora:
        print("error: ../shared/corpus is absent; nothing to train on", file=sys.stderr)
        return 2
    items = all_items(load(corpora))
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    report: Callable[[str, list[list[int]]], None] = lambda label, orders: print(  # noqa: E731
        label,
        "; ".join(
            f"k={k}: "
            + ", ".join(
                f"{c} {v:.1f}" for c, v in rouge2_per_corpus(items, orders, k, scorer).items()
            )
            for k in KS
        ),
    )
    print(f"{len(items)} articles; ROUGE-2 F1 x100")
    report("lead-3/5           ", [list(range(len(item.sentences))) for item in items])
    report(f"default, {args.folds}-fold CV ", cross_validated_orders(items, folds=args.folds))
    weights = fit(items)
    report("default, chosen on all", shipped_orders(items, weights))
    report(
        f"ridge, {args.folds}-fold CV   ",
        cross_validated_orders(items, folds=args.folds, trainer=ridge_fit),
    )
    chosen = {name: round(float(w), 3) for name, w in zip(FEATURES, weights, strict=True) if w}
    print("chosen weights:", chosen)
    if args.ablation:
        print("\n".join(ablation(items, scorer)))
    if args.write:
        write_model(weights)
        print(f"wrote {MODEL_PATH.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
