"""Every algorithm ranks offline; the default beats lead on every development corpus."""

from __future__ import annotations

from pathlib import Path

import nltk
import pytest

from summaries.models import ALGORITHMS, normalise_text
from summaries.ranking import centrality_scores, content_tokens, rank_sentences
from summaries.sentences import split_sentences

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

ARTICLE = [
    "Shanghai opened a quantum communication network linking twelve districts on Monday.",
    "The quantum network uses keys carried by single photons to protect government data.",
    "Officials said the network would reach every district of Shanghai by 2026.",
    "The weather was mild, with light winds from the east.",
    "Engineers tested the quantum keys for six months before the network opened.",
    "A local bakery sold out of mooncakes.",
    "The city plans to link its quantum network with Hefei and Beijing.",
]


@pytest.fixture
def no_nltk_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NLTK data is absent: an empty NLTK_DATA, and any lookup fails loudly."""
    monkeypatch.setenv("NLTK_DATA", str(tmp_path))
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])

    def refuse(resource_name: str, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"NLTK data was requested: {resource_name}")

    monkeypatch.setattr(nltk.data, "find", refuse)
    monkeypatch.setattr(nltk.data, "load", refuse)


@pytest.mark.usefixtures("no_nltk_data")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("k", [1, 3, 5])
def test_every_algorithm_runs_offline_and_returns_k_sorted_indices(algorithm: str, k: int) -> None:
    chosen = rank_sentences(ARTICLE, k, algorithm, "Quantum network opens in Shanghai")
    assert chosen == sorted(set(chosen))
    assert len(chosen) == k
    assert all(0 <= index < len(ARTICLE) for index in chosen)


@pytest.mark.usefixtures("no_nltk_data")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_copes_without_a_title_and_with_repeated_sentences(algorithm: str) -> None:
    sentences = [*ARTICLE, ARTICLE[0], ARTICLE[1]]
    chosen = rank_sentences(sentences, 4, algorithm)
    assert len(chosen) == len(set(chosen)) == 4


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_k_or_fewer_sentences_are_all_chosen(algorithm: str) -> None:
    assert rank_sentences(ARTICLE[:3], 3, algorithm) == [0, 1, 2]
    assert rank_sentences(ARTICLE[:2], 5, algorithm) == [0, 1]
    assert rank_sentences([], 3, algorithm) == []


def test_lead_takes_the_first_k() -> None:
    assert rank_sentences(ARTICLE, 2, "lead") == [0, 1]


def test_unknown_algorithm_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown summarisation algorithm 'magic'") as error:
        rank_sentences(ARTICLE, 3, "magic")
    assert all(name in str(error.value) for name in ALGORITHMS)


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        rank_sentences(ARTICLE, 0, "default")


def test_default_prefers_sentences_about_the_story() -> None:
    chosen = rank_sentences(ARTICLE, 4, "default")
    assert 3 not in chosen  # the weather
    assert 5 not in chosen  # the bakery


def test_content_tokens_keep_numbers_and_fold_plurals() -> None:
    assert content_tokens("The firm's profits rose 76% to $1.13bn in 2004.") == [
        "firm's",
        "profit",
        "rose",
        "76",
        "1.13bn",
        "2004",
    ]
    assert content_tokens("Companies said their boss was new.") == [
        "company",
        "said",
        "boss",
        "new",
    ]


def test_centrality_is_zero_without_shared_content() -> None:
    scores = centrality_scores(["Cats purr.", "Stocks fell sharply.", "It is what it is."])
    assert scores == [0.0, 0.0, 0.0]
    scores = centrality_scores(["Stocks fell.", "Stocks fell again.", "Cats purr."])
    assert scores[0] > 0 and scores[1] > 0 and scores[2] == 0.0


def _rouge2(articles: Path, summaries: Path, algorithm: str, k: int) -> float:
    """Mean ROUGE-2 F1 x100 of `algorithm`'s top k (in article order) against the references:
    articles/NNN.txt with the title on the first line, summaries/NNN.txt beside them."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)
    scores = []
    for path in sorted(articles.rglob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        reference = (summaries / path.relative_to(articles)).read_text(encoding="utf-8")
        sentences = split_sentences(body)
        chosen = sorted(rank_sentences(sentences, k, algorithm, title.strip()))
        summary = "\n".join(sentences[index] for index in chosen)
        scores.append(scorer.score(reference, summary)["rouge2"].fmeasure)
    assert scores
    return 100 * sum(scores) / len(scores)


@pytest.mark.skipif(not (CORPUS / "news-dev").exists(), reason="../shared/corpus is absent")
@pytest.mark.parametrize("corpus", ["cnndm", "duc2002"])
def test_default_beats_lead_on_summaries_people_wrote(corpus: str) -> None:
    # A regression guard on the shipped model, which was trained on these articles: the
    # held-out figures come from benchmarks/train_ranker.py's nested cross-validation.
    pytest.importorskip("rouge_score")
    articles = CORPUS / "news-dev" / "article" / corpus
    summaries = CORPUS / "news-dev" / "summary" / corpus
    default = _rouge2(articles, summaries, "default", 3)
    assert default > _rouge2(articles, summaries, "lead", 3)


@pytest.mark.skipif(not (CORPUS / "bbc-dev").exists(), reason="../shared/corpus is absent")
def test_default_beats_lead_on_bbc_dev() -> None:
    # bbc-dev's references were picked by a centrality program; the default is chosen for the
    # summaries people wrote, and must still pick better than the first sentences here.
    pytest.importorskip("rouge_score")
    articles, summaries = CORPUS / "bbc-dev" / "article", CORPUS / "bbc-dev" / "summary"
    for k in (3, 5):
        default = _rouge2(articles, summaries, "default", k)
        assert default > _rouge2(articles, summaries, "lead", k)


def test_normalised_matching_helper_is_stable() -> None:
    # The benchmark matches chosen sentences against references through normalise_text.
    assert normalise_text("  Profits  ROSE. ") == normalise_text("profits rose.")
