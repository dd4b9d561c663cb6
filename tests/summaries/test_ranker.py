"""The default ranker: its features, its weights file, and what it does with them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from summaries.models import ALGORITHMS
from summaries.ranker import (
    FEATURES,
    MODEL_FORMAT,
    Ranker,
    RankerModelError,
    default_model,
    load_model,
    sentence_features,
)
from summaries.ranking import rank_order, rank_sentences

ARTICLE = [
    "Shanghai opened a quantum communication network linking twelve districts on Monday.",
    "The quantum network uses keys carried by single photons to protect government data.",
    "Is it ready?",
    "and the officials said the network would reach every district of Shanghai by 2026.",
    "\u201cWe tested the quantum keys for six months,\u201d an engineer said.",
    "The city plans to link its quantum network with Hefei and Beijing.",
]
TITLE = "Shanghai opens quantum network"


def column(features: np.ndarray, name: str) -> list[float]:
    return [float(value) for value in features[:, FEATURES.index(name)]]


def test_features_have_one_row_per_sentence_and_one_column_per_name() -> None:
    features = sentence_features(ARTICLE, TITLE)
    assert features.shape == (len(ARTICLE), len(FEATURES))
    assert sentence_features([], TITLE).shape == (0, len(FEATURES))


def test_position_features() -> None:
    features = sentence_features(ARTICLE, TITLE)
    assert column(features, "is_first") == [1, 0, 0, 0, 0, 0]
    assert column(features, "is_third") == [0, 0, 1, 0, 0, 0]
    prior = column(features, "position_prior")
    assert prior[0] == 1.0 and prior == sorted(prior, reverse=True)
    assert column(features, "relative_position")[3] == pytest.approx(3 / 6)


def test_headline_and_centrality_features() -> None:
    features = sentence_features(ARTICLE, TITLE)
    headline = column(features, "headline_overlap")
    assert headline[0] == 0.75  # shanghai, quantum, network; "opened" is not "opens"
    assert headline[2] == 0.0
    centrality = column(features, "centrality")
    assert max(centrality) == 1.0 and centrality[2] == 0.0  # normalised; no shared words
    # The last sentence has no later sentences to share words with.
    assert column(features, "edges_to_later")[-1] == 0.0
    assert column(features, "edges_to_earlier")[0] == 0.0
    # No headline: the feature is 0 everywhere rather than undefined.
    assert set(column(sentence_features(ARTICLE, ""), "headline_overlap")) == {0.0}


def test_quality_flags() -> None:
    features = sentence_features(ARTICLE, TITLE)
    assert column(features, "is_question") == [0, 0, 1, 0, 0, 0]
    assert column(features, "is_fragment") == [0, 0, 0, 1, 0, 0]
    assert column(features, "starts_with_quote") == [0, 0, 0, 0, 1, 0]
    assert column(features, "is_short") == [0, 0, 1, 0, 0, 0]


def test_article_and_lead_features() -> None:
    features = sentence_features(ARTICLE, TITLE)
    assert column(features, "index") == [0, 1, 2, 3, 4, 5]
    assert set(column(features, "sentences")) == {6}
    assert column(features, "words")[2] == 3  # Is it ready
    chinese = sentence_features(["上海发布量子通信新进展。", "九城市参与。"], "", "zh")
    assert column(chinese, "words") == [5, 3]  # 上海 发布 量子 通信 新进展; 九 城市 参与
    assert column(chinese, "is_short") == [1, 1]
    assert column(features, "similarity_to_first")[0] == 1.0
    assert column(features, "similarity_to_first")[2] == 0.0  # shares nothing with the lead
    assert max(column(features, "similarity_to_lead")) == 1.0
    assert column(features, "has_number")[3] == 1.0 and column(features, "has_number")[0] == 0
    assert column(features, "capitalised_share")[0] > column(features, "capitalised_share")[1]
    # "quantum" and "network" recur: the second sentence's words are the article's words.
    frequency = column(features, "word_frequency")
    assert frequency[1] > frequency[2] > 0.0  # "ready" occurs once
    assert len(set(column(features, "mean_sentence_words"))) == 1


def test_run_on_sentences_are_counted() -> None:
    caption = (
        "Rescue teams reached the village after the storm cut every road into the valley "
        "on Monday Rescue teams carry supplies into the flooded village The storm cut the "
        "power lines and the water pipes that serve nearly four thousand homes in the valley"
    )
    features = sentence_features([ARTICLE[0], caption], TITLE)
    # "Monday Rescue", "village The", and "on Monday" too: names count, which the trees allow for.
    assert column(features, "run_on_joins") == [0, 3]


def test_the_shipped_model_loads_and_names_every_feature() -> None:
    model = default_model()
    assert len(model.weights) == len(FEATURES)
    assert model.trees is not None and len(model.trees.roots) > 0
    data = json.loads(
        (Path(__file__).resolve().parents[2] / "summaries" / "data" / "ranker.json").read_text()
    )
    assert data["features"] == list(FEATURES)


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "ranker.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def valid() -> dict[str, object]:
    return {"format": MODEL_FORMAT, "features": list(FEATURES), "weights": [0.5] * len(FEATURES)}


def test_a_valid_weights_file_loads(tmp_path: Path) -> None:
    model = load_model(write(tmp_path, valid()))
    assert model.weights == (0.5,) * len(FEATURES)
    assert load_model(write(tmp_path, model.to_json())) == model


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something else"}, "'format' must be"),
        ({"features": ["bias", "centrality"]}, "retrain with benchmarks/train_ranker.py"),
        ({"weights": [1.0, 2.0]}, "'weights' must be"),
        ({"weights": ["x"] * len(FEATURES)}, "'weights' must be"),
        ({"weights": None}, "'weights' must be"),
    ],
)
def test_a_malformed_weights_file_gives_a_clear_error(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    with pytest.raises(RankerModelError, match=message):
        load_model(write(tmp_path, {**valid(), **change}))


def test_weights_that_are_not_json_or_not_there_give_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RankerModelError, match="not valid JSON"):
        load_model(write(tmp_path, "{weights: 1"))
    with pytest.raises(RankerModelError, match="not valid JSON"):
        load_model(write(tmp_path, '{"weights": NaN'))
    with pytest.raises(RankerModelError, match="cannot read ranker weights"):
        load_model(tmp_path / "missing.json")


def tree_model() -> dict[str, object]:
    """Two trees: split on is_question (column 16), and a lone leaf."""
    question = FEATURES.index("is_question")
    return {
        **valid(),
        "weights": [0.0] * len(FEATURES),
        "trees": {
            "roots": [0, 3],
            "feature": [question, -1, -1, -1],
            "threshold": [0.5, 0, 0, 0],
            "left": [1, -1, -1, -1],
            "right": [2, -1, -1, -1],
            "value": [0, 1.0, -2.0, 0.25],
        },
    }


def test_trees_add_their_leaves_to_the_linear_score(tmp_path: Path) -> None:
    model = load_model(write(tmp_path, tree_model()))
    scores = model.scores(sentence_features(ARTICLE, TITLE))
    assert scores == [1.25, 1.25, -1.75, 1.25, 1.25, 1.25]
    assert load_model(write(tmp_path, model.to_json())) == model
    assert model.scores(sentence_features([], TITLE)) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"left": [0, -1, -1, -1]}, "not a later node"),  # a cycle
        ({"right": [9, -1, -1, -1]}, "not a later node"),
        ({"feature": [999, -1, -1, -1]}, "does not exist"),
        ({"feature": [0.5, -1, -1, -1]}, "as integers"),
        ({"value": [0, 1.0]}, "one entry per node"),
        ({"roots": [7]}, "root that is not a node"),
        ({"threshold": None}, "lists of finite numbers"),
    ],
)
def test_malformed_trees_give_a_clear_error(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    data = tree_model()
    data["trees"] = {**data["trees"], **change}  # type: ignore[dict-item]
    with pytest.raises(RankerModelError, match=message):
        load_model(write(tmp_path, data))


def test_non_finite_weights_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ranker.json"
    path.write_text(
        json.dumps(valid()).replace("0.5]", "Infinity]").replace("0.5,", "0.5,", 1),
        encoding="utf-8",
    )
    with pytest.raises(RankerModelError, match="finite"):
        load_model(path)


def test_rank_order_is_a_full_ordering_with_scores_and_agrees_with_rank_sentences() -> None:
    ranked = rank_order(ARTICLE, "default", TITLE)
    assert sorted(index for index, _ in ranked) == list(range(len(ARTICLE)))
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)
    for k in (1, 3, 5):
        assert rank_sentences(ARTICLE, k, "default", TITLE) == sorted(i for i, _ in ranked[:k])
    assert [i for i, _ in rank_order(ARTICLE, "lead")] == list(range(len(ARTICLE)))
    with pytest.raises(ValueError, match="unknown summarisation algorithm"):
        rank_order(ARTICLE, "magic")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_choice_for_k_is_the_first_k_of_its_order(algorithm: str) -> None:
    ranked = rank_order(ARTICLE, algorithm, TITLE)
    assert sorted(index for index, _ in ranked) == list(range(len(ARTICLE)))
    for k in range(1, len(ARTICLE)):
        assert rank_sentences(ARTICLE, k, algorithm, TITLE) == sorted(i for i, _ in ranked[:k])


def test_ranking_is_deterministic() -> None:
    first = rank_order(ARTICLE, "default", TITLE)
    assert all(rank_order(list(ARTICLE), "default", TITLE) == first for _ in range(3))


def test_a_custom_model_decides_the_order() -> None:
    weights = [0.0] * len(FEATURES)
    weights[FEATURES.index("is_question")] = 1.0
    (best, _score), *_ = rank_order(ARTICLE, "default", TITLE, model=Ranker(tuple(weights)))
    assert best == 2


def test_fragments_are_ranked_down_by_the_shipped_model() -> None:
    weights = dict(zip(FEATURES, default_model().weights, strict=True))
    assert weights["is_fragment"] < 0  # a fixed penalty, whatever the trees learned
    whole = "The officials said the network would reach every district of Shanghai by 2026."
    fragment = "the officials said the network would reach every district of Shanghai by 2026."

    def score_of_last(sentences: list[str]) -> float:
        return dict(rank_order(sentences, "default", TITLE))[len(sentences) - 1]

    assert score_of_last([*ARTICLE[:3], fragment]) < score_of_last([*ARTICLE[:3], whole])


def test_a_redundancy_penalty_skips_a_bullet_that_repeats_a_better_one() -> None:
    sentences = [
        "Shanghai opened a quantum network linking twelve districts on Monday.",
        "Shanghai opened a quantum network linking twelve districts on Monday, officials said.",
        "The city plans to link its network with Hefei and Beijing next year.",
    ]
    position = [0.0] * len(FEATURES)
    position[FEATURES.index("position_prior")] = 1.0  # 1, 0.61, 0.37: the repeat ranks second
    plain = Ranker(tuple(position))
    assert [i for i, _ in rank_order(sentences, "default", model=plain)] == [0, 1, 2]
    mmr = Ranker(tuple(position), redundancy=1.0)
    ranked = rank_order(sentences, "default", model=mmr)
    assert [i for i, _ in ranked] == [0, 2, 1]
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)  # the order's scores never increase
    for k in (1, 2, 3):
        assert rank_sentences(sentences, k, "default") == sorted(
            i for i, _ in rank_order(sentences, "default")[:k]
        )


def test_the_redundancy_penalty_is_saved_and_checked(tmp_path: Path) -> None:
    model = load_model(write(tmp_path, {**valid(), "redundancy": 0.1}))
    assert model.redundancy == 0.1
    assert load_model(write(tmp_path, model.to_json())) == model
    for bad in (-1, "0.1", 1e9):
        with pytest.raises(RankerModelError, match="'redundancy' must be"):
            load_model(write(tmp_path, {**valid(), "redundancy": bad}))


def test_similarity_matrix_is_cosine_of_content_words() -> None:
    from summaries.ranking import similarity_matrix

    matrix = similarity_matrix(["Quantum network opens.", "The quantum network opens!", "Is it?"])
    assert matrix[0, 1] == pytest.approx(1.0) and matrix[1, 0] == pytest.approx(1.0)
    assert matrix[0, 0] == 0.0  # never similar to itself: no penalty for being chosen
    assert matrix[2].tolist() == [0.0, 0.0, 0.0]  # no content words
    assert similarity_matrix([]).shape == (0, 0)
