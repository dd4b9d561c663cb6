"""Read the evaluation corpora once, as the product reads them, and cache what is costly.

A corpus is a folder pair ``article/.../NNN.txt`` (first line the title, a blank line, the
text) and ``summary/.../NNN.txt`` (the reference, one sentence per line), matched by relative
path. The defaults are the three sets under ``../shared/corpus``: ``bbc-dev`` (one corpus over
its topic folders), ``news-dev`` ``cnndm`` and ``duc2002`` (one corpus per set).

Each article is parsed with the product's plain-text parser and reduced to its usable
sentences (``summaries.digest.usable_sentences``: splitting, cleaning, de-duplication, caps);
the benchmark and the training script then rank those. Parsing and splitting 435 articles
costs seconds on a loaded machine, so the result is pickled under ~/.cache, keyed by the
corpus files and the source of ``summaries`` (any change to either re-reads).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rouge_score import rouge_scorer  # noqa: E402

from summaries.digest import language_of, shorten, usable_sentences  # noqa: E402
from summaries.models import Article, SummariserSettings  # noqa: E402
from summaries.ranker import sentence_features  # noqa: E402
from summaries.ranking import similarity_matrix  # noqa: E402
from summaries.sources import parse_text  # noqa: E402

SHARED = REPO / ".." / "shared" / "corpus"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "digest-bot-benchmarks"
ORACLE_K = 3  # the oracle labels the ranker learns are the greedy best 3 sentences


@dataclass(frozen=True)
class Corpus:
    name: str
    articles: Path
    summaries: Path


@dataclass
class Item:
    """One article, ready to rank: its usable sentences, their features and oracle labels."""

    corpus: str
    path: str
    article: Article
    language: str
    reference: str
    sentences: list[str]
    bullets: list[str]  # each sentence as the digest would show it (shortened)
    features: object  # numpy array, one row per sentence
    similarity: object  # numpy array, sentences x sentences (summaries.ranking.similarity_matrix)
    bigrams: list[Counter[tuple[str, str]]] = field(default_factory=list)
    reference_bigrams: Counter[tuple[str, str]] = field(default_factory=Counter)
    oracle: list[float] = field(default_factory=list)


def default_corpora(root: Path = SHARED) -> list[Corpus]:
    corpora = [Corpus("bbc-dev", root / "bbc-dev" / "article", root / "bbc-dev" / "summary")]
    news = root / "news-dev"
    for name in ("cnndm", "duc2002"):
        corpora.append(Corpus(name, news / "article" / name, news / "summary" / name))
    return [corpus for corpus in corpora if corpus.articles.is_dir()]


def corpora_in(folder: Path, by_set: bool) -> list[Corpus]:
    """A folder laid out like bbc-dev (one corpus) or news-dev (`by_set`: one per subfolder)."""
    articles, summaries = folder / "article", folder / "summary"
    if not by_set:
        return [Corpus(folder.name, articles, summaries)]
    return [
        Corpus(sub.name, sub, summaries / sub.name)
        for sub in sorted(articles.iterdir())
        if sub.is_dir()
    ]


def bigrams(tokens: list[str]) -> Counter[tuple[str, str]]:
    return Counter(zip(tokens, tokens[1:], strict=False))


def rouge2_f1(
    chosen: list[Counter[tuple[str, str]]], reference: Counter[tuple[str, str]]
) -> float:
    """ROUGE-2 F1 of the concatenated bullets (bigrams within each bullet; close to rouge-score,
    which also counts the one bigram across each bullet boundary). Used for oracle labels only."""
    total: Counter[tuple[str, str]] = Counter()
    for counts in chosen:
        total.update(counts)
    overlap = sum((total & reference).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(total.values())
    recall = overlap / sum(reference.values())
    return 2 * precision * recall / (precision + recall)


def oracle_labels(item: Item, k: int = ORACLE_K) -> list[float]:
    """1.0 for the sentences of a greedy ROUGE-2 oracle summary of k sentences, else 0.0."""
    chosen: list[int] = []
    best = 0.0
    for _ in range(k):
        candidates = [
            (rouge2_f1([item.bigrams[j] for j in [*chosen, i]], item.reference_bigrams), -i)
            for i in range(len(item.sentences))
            if i not in chosen
        ]
        if not candidates:
            break
        value, negative_index = max(candidates)
        if value <= best:
            break
        best = value
        chosen.append(-negative_index)
    return [1.0 if i in chosen else 0.0 for i in range(len(item.sentences))]


def _read(corpus: Corpus, tokenize: object) -> list[Item]:
    settings = SummariserSettings()
    items = []
    for path in sorted(corpus.articles.rglob("*.txt")):
        reference_path = corpus.summaries / path.relative_to(corpus.articles)
        result = parse_text(path.read_text(encoding="utf-8"), str(path))
        if len(result.articles) != 1 or not reference_path.exists():
            print(f"warning: {path}: skipped (no single article or no summary)", file=sys.stderr)
            continue
        article = result.articles[0]
        language = language_of(article)
        sentences = usable_sentences(article, language)
        bullets = [shorten(s, settings.max_bullet_chars, language) for s in sentences]
        reference = reference_path.read_text(encoding="utf-8").strip()
        item = Item(
            corpus=corpus.name,
            path=str(path),
            article=article,
            language=language,
            reference=reference,
            sentences=sentences,
            bullets=bullets,
            features=sentence_features(sentences, article.title, language),
            similarity=similarity_matrix(sentences, language),
            bigrams=[bigrams(tokenize(bullet)) for bullet in bullets],  # type: ignore[operator]
            reference_bigrams=bigrams(tokenize(reference)),  # type: ignore[operator]
        )
        item.oracle = oracle_labels(item)
        items.append(item)
    return items


def _cache_key(corpora: list[Corpus]) -> str:
    digest = hashlib.sha256()
    for source in sorted((REPO / "summaries").rglob("*")):
        if source.suffix in {".py", ".json", ".txt", ".yaml"} and source.is_file():
            digest.update(source.read_bytes())
    for corpus in corpora:
        digest.update(corpus.name.encode())
        for path in sorted(corpus.articles.rglob("*.txt")):
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def load(corpora: list[Corpus]) -> dict[str, list[Item]]:
    """Every corpus's items, from the cache when nothing changed."""
    path = CACHE / f"{_cache_key(corpora)}.pickle"
    if path.exists():
        with path.open("rb") as file:
            cached: dict[str, list[Item]] = pickle.load(file)  # our own cache file
        return cached
    tokenize = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)._tokenizer.tokenize
    loaded = {corpus.name: _read(corpus, tokenize) for corpus in corpora}
    CACHE.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        pickle.dump(loaded, file)
    return loaded
