"""Choose the k sentences that best summarise an article.

Every name in `summaries.models.ALGORITHMS` is available: sumy's LexRank, TextRank, LSA, Luhn,
SumBasic, KL, Reduction and Edmundson (fed our own sentences through `SumyTokenizer`, sumy's
English stemmer and stop words, so sumy never touches NLTK data), ``lead`` (the first k), and
``default``, the project's own method:

**Default: a small learned model over sentence features** (`summaries.ranker`: boosted
regression trees plus a linear quality penalty, shipped in ``summaries/data/ranker.json``,
trained by ``benchmarks/train_ranker.py``). One of its main signals is
content-overlap centrality over surface forms, computed here: a sentence that shares many
content words with the rest of the article restates its main subject and carries its key
facts. The weight is Reduction's degree centrality,
``score(i) = sum over j != i of overlap(i, j) / (log |i| + log |j|)``, where ``overlap`` counts
shared tokens with multiplicity. Three choices make it better than sumy's Reduction, each a
matter of what counts as a "content word":

1. Only closed-class function words (articles, pronouns, prepositions, auxiliaries) are
   stop words. sumy's 580-word list also drops reporting and content words ("said", "new",
   "first", "two", "million") that tie a sentence to the story.
2. Numbers count ("76%", "$1.13bn", "2005"): in news the same figures recur in the
   sentences that matter.
3. No full stemming: a light plural folding (Harman's S-stemmer) only. Snowball conflates
   words that differ in meaning ("university"/"universe", "experiment"/"experience",
   "market"/"marketing"), which blurs the overlap graph.

Measured on bbc-dev (ROUGE-2 F1 x100 at k=3/k=5): sumy Reduction 60.2/69.7; centrality alone
62.6/75.1. On news with human summaries centrality alone loses to lead-3, so the model adds
position, headline and lead overlap, word frequency, length and facts about the article, and
penalties for fragments, questions and quotations; see the README for the cross-validated
figures. Ties go to the earlier sentence. Cost: one count-matrix product and a walk down
the trees (numpy, all sentences at once) per article: about 3 ms for a typical one.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from summaries import language as languages
from summaries.models import ALGORITHMS, SUMY_ALGORITHMS
from summaries.sentences import SumyTokenizer

if TYPE_CHECKING:
    import numpy as np

    from summaries.ranker import Ranker

logger = logging.getLogger(__name__)

__all__ = [
    "SUMY_ALGORITHMS",
    "centrality_matrix",
    "centrality_scores",
    "content_tokens",
    "similarity_matrix",
    "rank_order",
    "rank_sentences",
    "stemmer",
    "stop_words",
]


# Words and numbers, keeping inner punctuation: "1.13bn", "464,000", "e-mail", "o'neill".
_TOKEN = re.compile(r"[^\W_]+(?:['’.,-][^\W_]+)*")
# Closed-class words only: articles, pronouns, prepositions, auxiliaries, conjunctions.
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

# Edmundson's cue method lowers sentences with these: hedges and reader-directed filler.
_STIGMA_WORDS_TEXT = """hardly impossible perhaps maybe reportedly allegedly click subscribe
    advertisement sponsored caption photo copyright newsletter"""
STIGMA_WORDS = frozenset(_STIGMA_WORDS_TEXT.split())
_EDMUNDSON_BONUS_FALLBACK = 10  # without a title, the article's most frequent content words


def rank_sentences(
    sentences: Sequence[str],
    k: int,
    algorithm: str,
    title: str = "",
    *,
    language: str = "en",
) -> list[int]:
    """Indices of the k sentences that `algorithm` chooses, in article order.

    With k or fewer sentences every index is returned. Raises ValueError for an unknown
    algorithm (naming the valid ones) or k < 1.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"unknown summarisation algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}"
        )
    if k < 1:
        raise ValueError(f"the number of sentences to choose must be at least 1, got {k}")
    if len(sentences) <= k:
        return list(range(len(sentences)))
    ranked = rank_order(sentences, algorithm, title, language=language)
    return sorted(index for index, _score in ranked[:k])


def rank_order(
    sentences: Sequence[str],
    algorithm: str = "default",
    title: str = "",
    *,
    language: str = "en",
    model: Ranker | None = None,
) -> list[tuple[int, float]]:
    """Every sentence as (index, score), best first: the choice for any k is the first k.

    ``default`` scores with `model` (the shipped weights when None); ``lead`` scores by
    position; sumy's algorithms give their own ratings. On a tie the earlier sentence wins
    (news puts the point first; sumy's sort is stable too). Raises ValueError for an unknown
    algorithm.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"unknown summarisation algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}"
        )
    if algorithm in SUMY_ALGORITHMS:
        return _sumy_order(sentences, algorithm, title, language)
    if algorithm == "lead":
        scores = [-float(index) for index in range(len(sentences))]
    else:
        from summaries.ranker import default_model, sentence_features

        ranker = model or default_model()
        features = sentence_features(sentences, title, language)
        if ranker.redundancy:
            return ranker.order(features, similarity_matrix(sentences, language))
        scores = ranker.scores(features)
    order = sorted(range(len(scores)), key=lambda index: (-scores[index], index))
    return [(index, scores[index]) for index in order]


def content_tokens(sentence: str, language: str = "en") -> list[str]:
    """Lower-cased words and numbers of a sentence, function words out, plurals folded.

    Words with an apostrophe ("firm's", "don't") are kept as they are: measured on bbc-dev,
    folding possessives into the plain noun made the default slightly worse (62.3/73.9).
    """
    return list(_content_tokens(sentence, language))


@lru_cache(maxsize=4096)  # the digest asks for the same sentences' tokens several times
def _content_tokens(sentence: str, language: str) -> tuple[str, ...]:
    ignored = _function_words(language)
    words = languages.segment_han(_TOKEN.findall(sentence.lower()))  # Chinese has no spaces
    tokens = [token for token in words if token not in ignored]
    if languages.get(language).code == "en":
        return tuple(_fold_plural(token) for token in tokens)
    return tuple(tokens)


def centrality_scores(sentences: Sequence[str], language: str = "en") -> list[float]:
    """Each sentence's summed, length-normalised content overlap with every other sentence."""
    return [float(score) for score in centrality_matrix(sentences, language).sum(axis=1)]


def centrality_matrix(sentences: Sequence[str], language: str = "en") -> np.ndarray:
    """overlap(i, j) / (log |i| + log |j|) for every pair of sentences, 0 on the diagonal."""
    import numpy as np  # deferred: only the default ranker needs it

    counts = _token_counts(sentences, language)
    overlap = counts @ counts.T  # shared tokens, with multiplicity, for every pair
    np.fill_diagonal(overlap, 0.0)
    log_lengths = np.log(np.maximum(counts.sum(axis=1), 1.0))
    norm = log_lengths[:, None] + log_lengths[None, :]
    # Two one-word sentences have norm 0: count their overlap as is (as TextRank does).
    weights: np.ndarray = np.divide(overlap, norm, out=overlap.copy(), where=norm > 0)
    return weights


def similarity_matrix(sentences: Sequence[str], language: str = "en") -> np.ndarray:
    """Cosine similarity of the sentences' content-token counts (0 for a sentence without
    content words), 0 on the diagonal: how much two bullets would say the same thing."""
    import numpy as np

    counts = _token_counts(sentences, language)
    lengths = np.sqrt((counts * counts).sum(axis=1))
    unit = np.divide(
        counts, lengths[:, None], out=np.zeros_like(counts), where=lengths[:, None] > 0
    )
    similarity: np.ndarray = unit @ unit.T
    np.fill_diagonal(similarity, 0.0)
    return similarity


def _token_counts(sentences: Sequence[str], language: str) -> np.ndarray:
    """Sentences x vocabulary counts of content tokens."""
    import numpy as np

    token_lists = [_content_tokens(sentence, language) for sentence in sentences]
    vocabulary: dict[str, int] = {}
    for tokens in token_lists:
        for token in tokens:
            vocabulary.setdefault(token, len(vocabulary))
    counts = np.zeros((len(sentences), max(1, len(vocabulary))))
    for row, tokens in enumerate(token_lists):
        for token in tokens:
            counts[row, vocabulary[token]] += 1
    return counts


def _fold_plural(token: str) -> str:
    """Harman's S-stemmer: "profits" meets "profit", "companies" meets "company"."""
    if "'" in token or "’" in token:
        return token
    if len(token) > 4 and token.endswith("ies") and not token.endswith(("eies", "aies")):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("es") and not token.endswith(("aes", "ees", "oes")):
        return token[:-1]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("us", "ss")):
        return token[:-1]
    return token


@lru_cache(maxsize=8)
def _function_words(language: str) -> frozenset[str]:
    if languages.get(language).code == "en":
        return ENGLISH_FUNCTION_WORDS
    ignored = languages.stop_words(language)
    if not ignored:
        logger.warning("no stop words for language %r; every word counts", language)
    return ignored


@lru_cache(maxsize=8)
def stemmer(language: str = "en") -> Callable[[str], str]:
    """sumy's stemmer for `language` (NLTK's Snowball: code only, no data), else ours."""
    from sumy.nlp.stemmers import Stemmer

    try:
        stem: Callable[[str], str] = Stemmer(languages.get(language).name)
    except LookupError:  # sumy has none: Snowball's, or case folding
        stem = languages.stemmer(language)
    return stem


@lru_cache(maxsize=8)
def stop_words(language: str = "en") -> frozenset[str]:
    """The stop words for `language` (`summaries.language.stop_words`; may be empty)."""
    return languages.stop_words(language)


def _sumy_order(
    sentences: Sequence[str], algorithm: str, title: str, language: str
) -> list[tuple[int, float]]:
    """sumy's ratings of every sentence, best first, from one call of the summarizer.

    Every sumy summarizer rates all sentences independently of the count asked for, sorts them
    by rating (a stable sort) and applies the count to that list, which may be a callable: ours
    keeps the whole list. So its choice for k sentences is always the first k of this order.
    """
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    if not sentences:
        return []
    tokenizer = SumyTokenizer(language)
    body = [Sentence(text, tokenizer) for text in sentences]
    heading = [Sentence(title, tokenizer, is_heading=True)] if title.strip() else []
    document = ObjectDocumentModel([Paragraph(heading + body)])
    summarizer = _make_summarizer(algorithm, language, title, sentences, tokenizer)
    rated: list[Any] = []

    def keep_all(infos: list[Any]) -> list[Any]:
        rated.extend(infos)
        return infos

    summarizer(document, keep_all)
    if not rated:  # LSA and TextRank return nothing for an article without words
        return [(index, 0.0) for index in range(len(sentences))]
    # sumy's Sentence compares by text; map back by identity so duplicates stay distinct.
    index_of = {id(sentence): index for index, sentence in enumerate(body)}
    return [(index_of[id(info.sentence)], float(info.rating)) for info in rated]


def _make_summarizer(
    algorithm: str,
    language: str,
    title: str,
    sentences: Sequence[str],
    tokenizer: SumyTokenizer,
) -> Any:
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
    }
    ignored = stop_words(language)
    if algorithm == "edmundson":
        # Cue (bonus/stigma words), key, title and location methods, equally weighted.
        summarizer = EdmundsonSummarizer(stemmer(language), cue_weight=1.0, key_weight=1.0)
        summarizer.null_words = ignored
        summarizer.bonus_words = _bonus_words(title, sentences, tokenizer, ignored)
        summarizer.stigma_words = STIGMA_WORDS
        return summarizer
    summarizer = classes[algorithm](stemmer(language))
    summarizer.stop_words = ignored
    return summarizer


def _bonus_words(
    title: str, sentences: Sequence[str], tokenizer: SumyTokenizer, ignored: frozenset[str]
) -> list[str]:
    """Edmundson's bonus words: the title's content words, else the most frequent ones."""
    in_title = [w.lower() for w in tokenizer.to_words(title) if w.lower() not in ignored]
    if in_title:
        return in_title
    frequencies = Counter(
        word.lower()
        for sentence in sentences
        for word in tokenizer.to_words(sentence)
        if word.lower() not in ignored
    )
    frequent = [word for word, _count in frequencies.most_common(_EDMUNDSON_BONUS_FALLBACK)]
    return frequent or ["news"]  # sumy refuses an empty set; any neutral word will do
