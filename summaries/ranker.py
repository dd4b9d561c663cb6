"""The default ranker: a small learned model over per-sentence features, shipped as a data file.

Each usable sentence of an article gets a row of features (`FEATURES`), the shipped model
(``summaries/data/ranker.json``, written by ``benchmarks/train_ranker.py``) turns the row into a
score, and the digest takes the best-scoring sentences. The features are language-neutral:
where a sentence stands, how much it shares with the headline, with the lead and with the other
sentences (centrality, split into edges to earlier and to later sentences), how frequent its
words are in the article, its length, and flags for sentences that read badly as a bullet
(fragments, questions, quotations), plus a few facts about the whole article (how many
sentences, how long they are) that let the model learn how strong the lead is. Only the tokens
(`summaries.ranking.content_tokens`) and the fragment test depend on the language.

The model is the sum of a linear part (weights over `FEATURES`) and an optional ensemble of
regression trees (gradient boosting, trained offline; evaluated here with numpy, so the product
needs no learning library). Why learned: how strong the lead is, and what beats it, differs
from one kind of news to another, and the trees learn it from summaries people wrote
(CNN/DailyMail highlights, DUC 2002 abstracts) rather than from a guess; the BBC set, whose
references a centrality program picked, pulls the other way and is left out where the training
script's cross-validation says so (figures printed are cross-validated: models fitted on folds
that exclude the articles scored). The linear part carries a fixed
penalty for fragments, questions and opening quotations: such sentences are rare in the
training sets, so the trees alone would not reliably rank them down, and issue 7 requires it.
See the README's summariser section for the figures.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from summaries.cleaning import is_fragment

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "FEATURES",
    "Ranker",
    "TreeEnsemble",
    "RankerModelError",
    "default_model",
    "load_model",
    "sentence_features",
]

# The order of the columns of `sentence_features`; a weights file names them, so a file
# written for another feature set is refused instead of silently misread.
FEATURES = (
    "bias",
    "is_first",
    "is_second",
    "is_third",
    "relative_position",
    "log_position",
    "position_prior",
    "centrality",
    "centrality_rank",
    "edges_to_later",
    "edges_to_earlier",
    "headline_overlap",
    "log_length",
    "is_short",
    "is_long",
    "is_fragment",
    "is_question",
    "starts_with_quote",
    "has_quote",
    "log_sentences",
    "relative_position_x_log_sentences",
    # Added with the tree model (ranker 2):
    "index",
    "sentences",
    "words",
    "content_words",
    "has_number",
    "capitalised_share",
    "similarity_to_first",
    "similarity_to_lead",
    "word_frequency",
    "run_on_joins",
    "mean_sentence_words",
    "spread_sentence_words",
    "headline_words",
)
MODEL_FORMAT = "digest-bot ranker 2"
_MAX_REDUNDANCY = 10.0
_LEAD = 3  # similarity_to_lead: shared words with the first three sentences
_PRIOR_DECAY = 2.0  # position_prior = exp(-index / 2): 1, 0.61, 0.37, 0.22, ...
_SHORT_WORDS = 8
_LONG_WORDS = 40
_OPENING_QUOTE = re.compile(r"^[\"'“‘«「『]")
_QUOTE = re.compile(r"[\"“”‘’«»「」『』]|(?:^|\s)'")
# A word ending in a lower-case letter or digit, then a capitalised word: in a long "sentence"
# this is where two sentences (often a photo caption and the text) were run together.
_RUN_ON_JOIN = re.compile(r"[a-z0-9)]\s+[A-Z][a-z]")
_RUN_ON_MIN_WORDS = 30


class RankerModelError(ValueError):
    """A ranker weights file that cannot be used (missing, not JSON, wrong features)."""


@dataclass(frozen=True)
class TreeEnsemble:
    """Regression trees in flat arrays; a node with feature -1 is a leaf holding `value`.

    Children always come after their parent (checked on load), so evaluation ends within
    `depth` steps: every sentence walks down every tree at once, one level per step.
    """

    roots: tuple[int, ...]
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]
    depth: int

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, ...]:
        import numpy as np

        columns = (self.roots, self.feature, self.threshold, self.left, self.right, self.value)
        return tuple(np.asarray(column) for column in columns)

    def predict(self, features: np.ndarray) -> np.ndarray:
        import numpy as np

        roots, feature, threshold, left, right, value = self._arrays
        rows = np.arange(features.shape[0])[None, :]
        node = np.repeat(roots[:, None], features.shape[0], axis=1)
        for _ in range(self.depth):
            split = feature[node]
            inner = split >= 0
            goes_left = features[rows, np.maximum(split, 0)] <= threshold[node]
            node = np.where(inner, np.where(goes_left, left[node], right[node]), node)
        total: np.ndarray = value[node].sum(axis=0)
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "roots": list(self.roots),
            "feature": list(self.feature),
            "threshold": list(self.threshold),
            "left": list(self.left),
            "right": list(self.right),
            "value": list(self.value),
        }


@dataclass(frozen=True)
class Ranker:
    """score = features @ weights (+ the trees' sum, when there are trees).

    With `redundancy` > 0 the order is greedy (maximal marginal relevance): each next
    sentence is the one whose score, less `redundancy` x its highest similarity to a sentence
    already chosen, is best. The choice for any k is still the first k of one order.
    """

    weights: tuple[float, ...]
    trees: TreeEnsemble | None = None
    description: str = ""
    redundancy: float = 0.0

    def scores(self, features: np.ndarray) -> list[float]:
        import numpy as np

        total = features @ np.asarray(self.weights)
        if self.trees is not None and len(features):
            total = total + self.trees.predict(features)
        return [float(value) for value in total]

    def order(self, features: np.ndarray, similarity: np.ndarray) -> list[tuple[int, float]]:
        """Every sentence as (index, score at the time it was chosen), best first. The scores
        never increase: a sentence's penalty only grows as more are chosen. Ties go to the
        earlier sentence."""
        import numpy as np

        base = np.asarray(self.scores(features))
        penalty = np.zeros(len(base))
        left = np.ones(len(base), dtype=bool)
        chosen: list[tuple[int, float]] = []
        for _ in range(len(base)):
            adjusted = np.where(left, base - self.redundancy * penalty, -np.inf)
            best = int(np.argmax(adjusted))  # the first of equal maxima: the earlier sentence
            chosen.append((best, float(adjusted[best])))
            left[best] = False
            penalty = np.maximum(penalty, similarity[best])
        return chosen

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": MODEL_FORMAT,
            "description": self.description,
            "features": list(FEATURES),
            "weights": list(self.weights),
        }
        if self.redundancy:
            data["redundancy"] = self.redundancy
        if self.trees is not None:
            data["trees"] = self.trees.to_json()
        return data


def load_model(path: Path | str) -> Ranker:
    """Read a model file; RankerModelError says what is wrong with a bad one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RankerModelError(f"cannot read ranker weights {path}: {error}") from error
    return parse_model(text, str(path))


def parse_model(text: str, name: str) -> Ranker:
    """A `Ranker` from the JSON text of a model file called `name` (for messages)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RankerModelError(f"ranker weights {name} are not valid JSON: {error}") from error
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise RankerModelError(f"ranker weights {name}: 'format' must be {MODEL_FORMAT!r}")
    features = data.get("features")
    if features != list(FEATURES):
        raise RankerModelError(
            f"ranker weights {name} are for features {features!r}, "
            f"but this code computes {list(FEATURES)!r}; retrain with benchmarks/train_ranker.py"
        )
    weights = data.get("weights")
    if not _finite_numbers(weights) or len(weights) != len(FEATURES):
        raise RankerModelError(
            f"ranker weights {name}: 'weights' must be {len(FEATURES)} finite numbers"
        )
    trees = None if data.get("trees") is None else _parse_trees(data["trees"], name)
    redundancy = data.get("redundancy", 0.0)
    if not _finite_numbers([redundancy]) or not 0 <= redundancy <= _MAX_REDUNDANCY:
        raise RankerModelError(
            f"ranker weights {name}: 'redundancy' must be a number from 0 to {_MAX_REDUNDANCY}"
        )
    description = str(data.get("description", ""))
    return Ranker(tuple(float(w) for w in weights), trees, description, float(redundancy))


def _finite_numbers(values: object) -> TypeGuard[list[float]]:
    return isinstance(values, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


def _parse_trees(data: object, name: str) -> TreeEnsemble:
    def bad(why: str) -> RankerModelError:
        return RankerModelError(f"ranker weights {name}: 'trees' {why}")

    keys = ("roots", "feature", "threshold", "left", "right", "value")
    if not isinstance(data, dict) or any(not _finite_numbers(data.get(key)) for key in keys):
        raise bad(f"must hold lists of finite numbers {', '.join(map(repr, keys))}")
    size = len(data["feature"])
    if any(len(data[key]) != size for key in keys[1:]):
        raise bad("lists 'feature' to 'value' must have one entry per node")
    integers = [data[key] for key in ("roots", "feature", "left", "right")]
    if any(not float(v).is_integer() for values in integers for v in values):
        raise bad("must give node and feature numbers as integers")
    roots, feature, left, right = ([int(v) for v in values] for values in integers)
    depth = [0] * size
    for node in range(size):
        if feature[node] == -1:
            continue
        if not 0 <= feature[node] < len(FEATURES):
            raise bad(f"node {node} splits on feature {feature[node]}, which does not exist")
        for child in (left[node], right[node]):
            if not node < child < size:  # children after parents: no cycles
                raise bad(f"node {node} has child {child}, which is not a later node")
            depth[child] = max(depth[child], depth[node] + 1)
    if any(not 0 <= root < size for root in roots):
        raise bad("has a root that is not a node")
    return TreeEnsemble(
        roots=tuple(roots),
        feature=tuple(feature),
        threshold=tuple(float(v) for v in data["threshold"]),
        left=tuple(left),
        right=tuple(right),
        value=tuple(float(v) for v in data["value"]),
        depth=max(depth, default=0),
    )


@lru_cache(maxsize=1)
def default_model() -> Ranker:
    """The shipped model (package data, read once)."""
    resource = resources.files("summaries") / "data" / "ranker.json"
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as error:
        raise RankerModelError(f"the shipped ranker weights are missing: {error}") from error
    return parse_model(text, "summaries/data/ranker.json")


def sentence_features(
    sentences: Sequence[str], title: str = "", language: str = "en"
) -> np.ndarray:
    """One row of `FEATURES` per sentence (an n x len(FEATURES) array)."""
    import numpy as np

    from summaries.ranking import centrality_matrix, content_tokens
    from summaries.sentences import words

    n = len(sentences)
    if n == 0:
        return np.zeros((0, len(FEATURES)))
    weights = centrality_matrix(sentences, language)
    centrality = weights.sum(axis=1)
    later = np.triu(weights, 1).sum(axis=1)  # edges to sentences after this one
    earlier = np.tril(weights, -1).sum(axis=1)
    to_lead = weights[:, :_LEAD].sum(axis=1)
    rank = np.empty(n)
    rank[np.lexsort((np.arange(n), -centrality))] = np.arange(n)
    title_tokens = content_tokens(title, language)
    headline = set(title_tokens)
    tokens = [content_tokens(sentence, language) for sentence in sentences]
    frequency = Counter(token for sentence_tokens in tokens for token in sentence_tokens)
    all_tokens = max(1, sum(frequency.values()))
    # Words, not characters or spaces: Chinese has no spaces and packs a word in two characters.
    word_lists = [words(sentence, language) for sentence in sentences]
    lengths = np.asarray([len(sentence_words) for sentence_words in word_lists], dtype=float)
    article = [float(lengths.mean()), float(lengths.std()), float(len(title_tokens))]
    log_n = math.log(n)
    rows = []
    for index, sentence in enumerate(sentences):
        sentence_words = word_lists[index]
        relative = index / n
        rows.append(
            [
                1.0,
                index == 0,
                index == 1,
                index == 2,
                relative,
                math.log1p(index),
                math.exp(-index / _PRIOR_DECAY),
                _share_of_max(centrality, index),
                1.0 / (1.0 + rank[index]),
                _share_of_max(later, index),
                _share_of_max(earlier, index),
                len(headline & set(tokens[index])) / len(headline) if headline else 0.0,
                math.log1p(len(tokens[index])),
                len(sentence_words) < _SHORT_WORDS,
                len(sentence_words) > _LONG_WORDS,
                is_fragment(sentence),
                sentence.rstrip("\"'”’»」』 ").endswith(("?", "？")),
                bool(_OPENING_QUOTE.match(sentence)),
                bool(_QUOTE.search(sentence)),
                log_n,
                relative * log_n,
                index,
                n,
                lengths[index],
                len(tokens[index]),
                any(character.isdigit() for character in sentence),
                _capitalised_share(sentence_words),
                _share_of_max(weights[0], index) if index else 1.0,
                _share_of_max(to_lead, index),
                _mean_frequency(tokens[index], frequency) * 100 / all_tokens,
                len(_RUN_ON_JOIN.findall(sentence)) if lengths[index] > _RUN_ON_MIN_WORDS else 0,
                *article,
            ]
        )
    return np.asarray(rows, dtype=float)


def _share_of_max(values: np.ndarray, index: int) -> float:
    top = float(values.max())
    return float(values[index]) / top if top > 0 else 0.0


def _capitalised_share(words: Sequence[str]) -> float:
    """Share of the words after the first that start with a capital: names, places, titles."""
    return sum(word[:1].isupper() for word in words[1:]) / max(1, len(words))


def _mean_frequency(tokens: Sequence[str], frequency: Counter[str]) -> float:
    """How often, on average, the sentence's words occur in the article (SumBasic's signal)."""
    return sum(frequency[token] for token in tokens) / len(tokens) if tokens else 0.0
