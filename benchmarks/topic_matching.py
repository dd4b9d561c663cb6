"""How well topic matching files articles: precision and recall on a bbc-dev style corpus.

Usage:
    python benchmarks/topic_matching.py [FOLDER] [--topics benchmarks/topics_bbc.yaml]

FOLDER is laid out like ../shared/corpus/bbc-dev (the default): article/<topic>/NNN.txt, the
folder naming the article's true topic. Every article is read as the product reads it (the
plain-text parser) and filed by `summaries.matching.TopicMatcher` under the five topics of
benchmarks/topics_bbc.yaml, whose keywords were written from general knowledge, not from these
articles. Printed, for the product's rule and, as a baseline in the same run, for the rule it
replaced (a weighted keyword count of 2, a title hit counting 3):

- precision: the share of (article, topic) filings that are the article's folder;
- recall: the share of articles filed under their folder;
- filings per article, and per topic precision and recall.

This is a script, never run in CI.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from summaries.matching import TokenisedText, TopicMatcher, stems  # noqa: E402
from summaries.models import Article, Topic  # noqa: E402
from summaries.sources import parse_text  # noqa: E402

DEFAULT_FOLDER = REPO / ".." / "shared" / "corpus" / "bbc-dev"
DEFAULT_TOPICS = Path(__file__).with_name("topics_bbc.yaml")

Filer = Callable[[Article], tuple[str, ...]]


def load_topics(path: Path) -> list[Topic]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Topic(item["name"], item["title"], item["description"], tuple(map(str, item["keywords"])))
        for item in document["topics"]
    ]


def load_articles(folder: Path) -> list[tuple[str, Article]]:
    labelled = []
    for path in sorted((folder / "article").glob("*/*.txt")):
        parsed = parse_text(path.read_text(encoding="utf-8"), str(path))
        labelled += [(path.parent.name, article) for article in parsed.articles]
    return labelled


def old_rule(topics: Sequence[Topic]) -> Filer:
    """The rule before issue 9: title hits weigh 3, body hits 1, a topic needs 2."""
    phrases = {t.name: {stems(k) for k in t.keywords} - {()} for t in topics}

    def file(article: Article) -> tuple[str, ...]:
        text = TokenisedText.of(article.title, article.text)
        return tuple(
            name
            for name, wanted in phrases.items()
            if sum(text.weighted_count(phrase) for phrase in wanted) >= 2.0
        )

    return file


def score(labelled: Sequence[tuple[str, Article]], file: Filer) -> dict[str, object]:
    filed = [(label, file(article)) for label, article in labelled]
    filings = sum(len(topics) for _, topics in filed)
    right = sum(label in topics for label, topics in filed)
    per_topic: dict[str, tuple[float, float]] = {}
    for name in sorted({label for label, _ in labelled}):
        under = [label for label, topics in filed if name in topics]
        of_topic = [topics for label, topics in filed if label == name]
        precision = Counter(under)[name] / len(under) if under else 0.0
        recall = sum(name in topics for topics in of_topic) / len(of_topic)
        per_topic[name] = (precision, recall)
    return {
        "precision": right / filings if filings else 0.0,
        "recall": right / len(filed),
        "filings per article": filings / len(filed),
        "unfiled": sum(not topics for _, topics in filed),
        "per topic": per_topic,
    }


def report(name: str, result: dict[str, object]) -> None:
    print(
        f"{name:<10} precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
        f"filings/article {result['filings per article']:.2f}  unfiled {result['unfiled']}"
    )
    per_topic = result["per topic"]
    assert isinstance(per_topic, dict)
    for topic, (precision, recall) in per_topic.items():
        print(f"           {topic:<14} precision {precision:.2f}  recall {recall:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--topics", type=Path, default=DEFAULT_TOPICS)
    args = parser.parse_args(argv)
    if not (args.folder / "article").is_dir():
        print(f"no corpus at {args.folder} (expected article/<topic>/NNN.txt); skipped")
        return 0
    topics = load_topics(args.topics)
    labelled = load_articles(args.folder)
    print(f"{len(labelled)} articles, {len(topics)} topics from {args.topics.name}")
    matcher = TopicMatcher(topics)
    report("product", score(labelled, lambda a: matcher.match(a.title, a.text)))
    report("old rule", score(labelled, old_rule(topics)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
