"""The default ranker: a small linear model over per-sentence features, weights from a data file.

Each usable sentence of an article gets a row of features (`FEATURES`), the shipped weights
(``summaries/data/ranker.json``, written by ``benchmarks/train_ranker.py``) turn the row into a
score, and the digest takes the best-scoring sentences. The features are language-neutral:
where a sentence stands, how much it shares with the headline and with the other sentences
(centrality, split into edges to earlier and to later sentences), its length and flags for
sentences that read badly as a bullet (fragments, questions, quotations). Only the tokens
(`summaries.ranking.content_tokens`) and the fragment test depend on the language.

Why learned: the three corpora disagree on what a good sentence is. Journalists' highlights
(CNN/DailyMail) and assessors' abstracts (DUC 2002) lean to the lead; the BBC references were
picked by a centrality program. Rather than guess how strong the lead is, the weights are fitted
(ridge regression onto oracle labels, every corpus weighted alike) on all three, and the
training script reports cross-validated figures (weights fitted on folds that exclude the
articles scored). See the README's summariser section for the figures and the ablation.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summaries.cleaning import is_fragment

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "FEATURES",
    "LinearRanker",
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
)
MODEL_FORMAT = "digest-bot linear ranker 1"
_PRIOR_DECAY = 2.0  # position_prior = exp(-index / 2): 1, 0.61, 0.37, 0.22, ...
_SHORT_WORDS = 8
_LONG_WORDS = 40
_OPENING_QUOTE = re.compile(r"^[\"'“‘«「『]")
_QUOTE = re.compile(r"[\"“”‘’«»「」『』]|(?:^|\s)'")


class RankerModelError(ValueError):
    """A ranker weights file that cannot be used (missing, not JSON, wrong features)."""


@dataclass(frozen=True)
class LinearRanker:
    """Weights for `FEATURES`, in that order; `score` = features @ weights."""

    weights: tuple[float, ...]
    description: str = ""

    def scores(self, features: np.ndarray) -> list[float]:
        import numpy as np

        return [float(value) for value in features @ np.asarray(self.weights)]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "description": self.description,
            "features": list(FEATURES),
            "weights": list(self.weights),
        }


def load_model(path: Path | str) -> LinearRanker:
    """Read a weights file; RankerModelError says what is wrong with a bad one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RankerModelError(f"cannot read ranker weights {path}: {error}") from error
    return parse_model(text, str(path))


def parse_model(text: str, name: str) -> LinearRanker:
    """A `LinearRanker` from the JSON text of a weights file called `name` (for messages)."""
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
    if (
        not isinstance(weights, list)
        or len(weights) != len(FEATURES)
        or not all(isinstance(w, int | float) and math.isfinite(w) for w in weights)
    ):
        raise RankerModelError(
            f"ranker weights {name}: 'weights' must be {len(FEATURES)} finite numbers"
        )
    return LinearRanker(tuple(float(w) for w in weights), str(data.get("description", "")))


@lru_cache(maxsize=1)
def default_model() -> LinearRanker:
    """The shipped weights (package data, read once)."""
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

    n = len(sentences)
    if n == 0:
        return np.zeros((0, len(FEATURES)))
    weights = centrality_matrix(sentences, language)
    centrality = weights.sum(axis=1)
    later = np.triu(weights, 1).sum(axis=1)  # edges to sentences after this one
    earlier = np.tril(weights, -1).sum(axis=1)
    rank = np.empty(n)
    rank[np.lexsort((np.arange(n), -centrality))] = np.arange(n)
    headline = set(content_tokens(title, language))
    log_n = math.log(n)
    rows = []
    for index, sentence in enumerate(sentences):
        tokens = content_tokens(sentence, language)
        words = len(sentence.split())
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
                len(headline & set(tokens)) / len(headline) if headline else 0.0,
                math.log1p(len(tokens)),
                words < _SHORT_WORDS,
                words > _LONG_WORDS,
                is_fragment(sentence),
                sentence.rstrip("\"'”’»」』 ").endswith(("?", "？")),
                bool(_OPENING_QUOTE.match(sentence)),
                bool(_QUOTE.search(sentence)),
                log_n,
                relative * log_n,
            ]
        )
    return np.asarray(rows, dtype=float)


def _share_of_max(values: np.ndarray, index: int) -> float:
    top = float(values.max())
    return float(values[index]) / top if top > 0 else 0.0
