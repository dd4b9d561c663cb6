"""Choose the k sentences that best summarise an article.

PLACEHOLDER docstring: rewritten once the default method is settled.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from summaries.models import ALGORITHMS
from summaries.sentences import SumyTokenizer

logger = logging.getLogger(__name__)

__all__ = ["rank_sentences"]

_TOKEN = re.compile(r"[^\W_]+(?:['’.,-][^\W_]+)*")
# Closed-class words only: articles, pronouns, prepositions, auxiliaries, conjunctions.
# Content-bearing words that larger stop lists drop ("said", "new", "first", "year") stay in.
_ENGLISH_FUNCTION_WORDS_TEXT = """
    a an the and or but nor so yet if then than as of at by for from in into on onto to up
    down out off over under again further once with without about above below between among
    through during before after against because until while i me my mine myself we us our ours
    ourselves you your yours yourself yourselves he him his himself she her hers herself it its
    itself they them their theirs themselves this that these those who whom whose which what
    where when why how there here am is are was were be been being have has had having do does
    did doing will would shall should can could may might must not no all any both each few more
    most other some such only own same too very just also now s t don't isn't it's i'm"""
ENGLISH_FUNCTION_WORDS = frozenset(_ENGLISH_FUNCTION_WORDS_TEXT.split())
SUMY_ALGORITHMS = (
    "lexrank",
    "textrank",
    "lsa",
    "luhn",
    "sumbasic",
    "kl",
    "reduction",
    "edmundson",
)


def rank_sentences(
    sentences: Sequence[str],
    k: int,
    algorithm: str,
    title: str = "",
    *,
    language: str = "english",
) -> list[int]:
    """Indices of the k sentences chosen by `algorithm`, in article order."""
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"unknown summarisation algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}"
        )
    if k < 1:
        raise ValueError(f"the number of sentences to choose must be at least 1, got {k}")
    if len(sentences) <= k:
        return list(range(len(sentences)))
    if algorithm == "lead":
        return list(range(k))
    if algorithm == "default":
        return _top_k(centrality_scores(sentences, language), k)
    return _rank_with_sumy(sentences, k, algorithm, title, language)


def _top_k(scores: Sequence[float], k: int) -> list[int]:
    # Highest score first; on a tie the earlier sentence wins (news puts the point first).
    order = sorted(range(len(scores)), key=lambda index: (-scores[index], index))
    return sorted(order[:k])


def content_tokens(sentence: str, language: str = "english") -> list[str]:
    """Lower-cased words and numbers of a sentence, function words out, plurals folded."""
    stop_words = _function_words(language)
    tokens = [token for token in _TOKEN.findall(sentence.lower()) if token not in stop_words]
    if language == "english":
        return [_fold_plural(token) for token in tokens]
    return tokens


def centrality_scores(sentences: Sequence[str], language: str = "english") -> list[float]:
    """Each sentence's summed content overlap with every other sentence (see module doc)."""
    import numpy as np  # deferred: only the default ranker needs it

    token_lists = [content_tokens(sentence, language) for sentence in sentences]
    vocabulary: dict[str, int] = {}
    for tokens in token_lists:
        for token in tokens:
            vocabulary.setdefault(token, len(vocabulary))
    if not vocabulary:
        return [0.0] * len(sentences)
    counts = np.zeros((len(sentences), len(vocabulary)))
    for row, tokens in enumerate(token_lists):
        for token in tokens:
            counts[row, vocabulary[token]] += 1
    overlap = counts @ counts.T  # shared tokens, with multiplicity, for every pair
    np.fill_diagonal(overlap, 0.0)
    log_lengths = np.log(np.maximum(counts.sum(axis=1), 1.0))
    norm = log_lengths[:, None] + log_lengths[None, :]
    weights = np.divide(overlap, norm, out=overlap.copy(), where=norm > 0)
    return [float(score) for score in weights.sum(axis=1)]


def _fold_plural(token: str) -> str:
    """A light S-stemmer (Harman 1991): "profits" and "profit" meet, "news" and "new" do not."""
    if len(token) > 4 and token.endswith("ies") and not token.endswith(("eies", "aies")):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("es") and not token.endswith(("aes", "ees", "oes")):
        return token[:-1]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("us", "ss")):
        return token[:-1]
    return token


@lru_cache(maxsize=8)
def _function_words(language: str) -> frozenset[str]:
    if language == "english":
        return ENGLISH_FUNCTION_WORDS
    try:
        return _stop_words(language)
    except LookupError:
        logger.warning("no stop words for language %r; counting every word", language)
        return frozenset()


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Callable[[str], str]:
    from sumy.nlp.stemmers import Stemmer

    stemmer: Callable[[str], str] = Stemmer(language)
    return stemmer


@lru_cache(maxsize=4)
def _stop_words(language: str) -> frozenset[str]:
    from sumy.utils import get_stop_words

    return frozenset(get_stop_words(language))


def _rank_with_sumy(
    sentences: Sequence[str], k: int, algorithm: str, title: str, language: str
) -> list[int]:
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    tokenizer = SumyTokenizer(language)
    body = [Sentence(text, tokenizer) for text in sentences]
    heading = [Sentence(title, tokenizer, is_heading=True)] if title.strip() else []
    document = ObjectDocumentModel([Paragraph(heading + body)])
    summarizer = _make_summarizer(algorithm, language, title, tokenizer)
    chosen = summarizer(document, k)
    # sumy's Sentence compares by text; map back by identity so duplicates stay distinct.
    index_of = {id(sentence): index for index, sentence in enumerate(body)}
    return sorted(index_of[id(sentence)] for sentence in chosen)


def _make_summarizer(algorithm: str, language: str, title: str, tokenizer: SumyTokenizer) -> Any:
    from sumy.summarizers.edmundson import EdmundsonSummarizer
    from sumy.summarizers.kl import KLSummarizer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.lsa import LsaSummarizer
    from sumy.summarizers.luhn import LuhnSummarizer
    from sumy.summarizers.reduction import ReductionSummarizer
    from sumy.summarizers.sum_basic import SumBasicSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer

    classes: dict[str, Any] = {
        "lexrank": LexRankSummarizer,
        "textrank": TextRankSummarizer,
        "lsa": LsaSummarizer,
        "luhn": LuhnSummarizer,
        "sumbasic": SumBasicSummarizer,
        "kl": KLSummarizer,
        "reduction": ReductionSummarizer,
        "edmundson": EdmundsonSummarizer,
    }
    stop_words = _stop_words(language)
    if algorithm == "edmundson":
        summarizer = EdmundsonSummarizer(_stemmer(language), cue_weight=1.0, key_weight=1.0)
        summarizer.null_words = stop_words
        summarizer.bonus_words = _bonus_words(title, tokenizer, stop_words)
        summarizer.stigma_words = STIGMA_WORDS
        return summarizer
    summarizer = classes[algorithm](_stemmer(language))
    summarizer.stop_words = stop_words
    return summarizer


# Edmundson's cue method lowers sentences with these: hedges and reader-directed filler.
STIGMA_WORDS = frozenset(
    [
        "hardly",
        "impossible",
        "perhaps",
        "maybe",
        "reportedly",
        "allegedly",
        "click",
        "subscribe",
        "advertisement",
        "sponsored",
        "caption",
        "photo",
        "copyright",
        "newsletter",
    ]
)


def _bonus_words(title: str, tokenizer: SumyTokenizer, stop_words: frozenset[str]) -> list[str]:
    """Edmundson's bonus words: the title's content words (the classic choice)."""
    words = [w.lower() for w in tokenizer.to_words(title) if w.lower() not in stop_words]
    return words or ["said"]
