"""Condense an article into a Digest: k bullets, its topics and its keywords.

The pipeline, in order: split the body into sentences (offline Punkt), drop page furniture
(bylines, timestamps, credits, prompts), drop the title and any sentence that repeats it or an
earlier, fuller sentence, rank what is left with the configured algorithm, and shorten the
chosen sentences for reading. Rules every digest keeps:

- k bullets (`SummariserSettings.bullets`, 1-10), in article order, each one sentence of the
  article (at most trimmed of a credit or dateline, or shortened);
- never the title, never two bullets that say the same thing (near-duplicates by content words;
  the earlier of two is kept);
- a sentence longer than `max_bullet_chars` is cut at a clause boundary, never inside a word,
  and ends with "…";
- an article with k or fewer usable sentences is given whole; one with none gets no bullets
  (the caller decides how to warn).

Besides the k bullets, a digest keeps the ranking of up to 10 shortened sentences, best first,
so that a reader's own bullet count is served from the stored digest (`Digest.top`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from summaries import language as languages
from summaries.cleaning import clean_sentences
from summaries.keywords import top_keywords
from summaries.models import (
    ALGORITHMS,
    MAX_BULLETS,
    MIN_BULLETS,
    Article,
    Digest,
    RankedBullet,
    SummariserSettings,
    normalise_text,
)
from summaries.ranking import (
    ENGLISH_FUNCTION_WORDS,
    content_tokens,
    rank_order,
)
from summaries.sentences import split_sentences

logger = logging.getLogger(__name__)

__all__ = [
    "ELLIPSIS",
    "MIN_BULLET_CHARS",
    "RANKER_VERSION",
    "TopicMatcher",
    "check_settings",
    "ranked_order",
    "shorten",
    "summarise",
    "language_of",
    "summarise_many",
    "summarise_new",
    "MAX_RANKED_SENTENCES",
    "MAX_TEXT_CHARS",
    "capped_paragraphs",
    "usable_sentences",
    "with_language",
]

# Which ranking code made a stored digest's ranking. Bump it with any change to splitting,
# cleaning, ranking or shortening that changes the bullets: the bot then re-ranks the stored
# articles in the background.
# 3: the learned linear default; 4: boosted trees (summaries/data/ranker.json).
RANKER_VERSION = "5"
ELLIPSIS = "…"
MIN_BULLET_CHARS = 40
# Two sentences say the same thing when this share of the shorter one's content words (and
# at least two of them) also occur in the other.
DUPLICATE_OVERLAP = 0.8
# A clause boundary is only used if it keeps at least this share of the allowed length;
# otherwise the cut falls at the last word boundary instead.
_MIN_CLAUSE_SHARE = 0.5
_CLAUSE_END = re.compile(r"[,;:](?=\s)|\s[–—-](?=\s)|\s(?=\()")
# Chinese clause marks: full-width comma, semicolon and colon (no space follows them).
_ZH_CLAUSE_END = re.compile(r"[，；：](?=.)")
_TRAILING_JOINERS = re.compile(r"[\s,;:–—\-(\[\"“‘'，、；：（《「]+$")
# Chinese words that cannot end a shortened bullet: particles, conjunctions, prepositions.
_ZH_DANGLING_TEXT = "的 地 得 和 与 及 或 并 而 在 对 把 被 从 向 以 为 将 是 了"
_ZH_DANGLING_WORDS = frozenset(_ZH_DANGLING_TEXT.split())
_DANGLING_WORDS_TEXT = (
    "a an the and or but nor of to in on at by for from with as that which who whose"
)
_DANGLING_WORDS = frozenset(_DANGLING_WORDS_TEXT.split())
_NON_SPACE = re.compile(r"\S+")
# Abbreviations that are part of a name: a cut right after one splits the name.
_NAME_ABBREVIATIONS_TEXT = "co. ltd. inc. corp. llc plc mr. mrs. ms. dr. prof. st. jr. sr. gen."
_NAME_ABBREVIATIONS = frozenset(_NAME_ABBREVIATIONS_TEXT.split())
# Caps that keep summarising linear in the size of an item (a feed entry may carry up to the
# 10 MB fetch cap). News puts its point first, and a long read of 60,000 characters (about
# 10,000 words) is already several times any article in the corpora, so nothing past it could
# become a bullet in practice. Splitting, cleaning, de-duplication (pairwise) and ranking
# (a sentence-by-sentence matrix) then see a bounded input: before the caps a 2.1 MB item took
# 38 s and 8.4 MB over 3 minutes.
MAX_TEXT_CHARS = 60_000
MAX_RANKED_SENTENCES = 300


class TopicMatcher(Protocol):
    """Anything that files an article under topic names, best first."""

    def match(self, title: str, body: str, *, language: str = ...) -> tuple[str, ...]: ...


def check_settings(settings: SummariserSettings) -> None:
    """Raise ValueError naming the setting and the allowed values if `settings` are unusable."""
    if not MIN_BULLETS <= settings.bullets <= MAX_BULLETS:
        raise ValueError(
            f"bullets must be from {MIN_BULLETS} to {MAX_BULLETS}, got {settings.bullets}"
        )
    if settings.algorithm not in ALGORITHMS:
        raise ValueError(
            f"unknown summarisation algorithm {settings.algorithm!r}; "
            f"valid: {', '.join(ALGORITHMS)}"
        )
    if settings.max_bullet_chars < MIN_BULLET_CHARS:
        raise ValueError(
            f"max_bullet_chars must be at least {MIN_BULLET_CHARS}, "
            f"got {settings.max_bullet_chars}"
        )
    if settings.keywords < 0:
        raise ValueError(f"keywords must be 0 or more, got {settings.keywords}")


def summarise(
    article: Article,
    settings: SummariserSettings = SummariserSettings(),  # noqa: B008 (frozen, shared safely)
    topic_matcher: TopicMatcher | None = None,
) -> Digest:
    """The digest of one article (see the module docstring for the rules it keeps)."""
    check_settings(settings)
    language = language_of(article)
    sentences = usable_sentences(article, language)
    order = ranked_order(sentences, settings, article.title, language)
    ranking = tuple(
        RankedBullet(index, shorten(sentences[index], settings.max_bullet_chars, language))
        for index in order
    )
    # Topics and keywords read the same capped text as the ranker, for the same reason.
    text = "\n\n".join(capped_paragraphs(article))
    topics = topic_matcher.match(article.title, text, language=language) if topic_matcher else ()
    keywords = top_keywords(article.title, text, settings.keywords, language=language)
    digest = Digest(
        article_id=article.id,
        bullets=(),
        topics=tuple(topics),
        keywords=keywords,
        algorithm=settings.algorithm,
        ranking=ranking,
        ranker_version=RANKER_VERSION,
    )
    return replace(digest, bullets=digest.top(settings.bullets))


def ranked_order(
    sentences: Sequence[str], settings: SummariserSettings, title: str, language: str = "en"
) -> list[int]:
    """Indices of up to MAX_BULLETS sentences, best first (one ranking call for every k:
    every algorithm's choice of k sentences is the first k of `rank_order`)."""
    ranked = rank_order(sentences, settings.algorithm, title, language=language)
    return [index for index, _score in ranked[:MAX_BULLETS]]


def language_of(article: Article) -> str:
    """The article's language code: as configured for its source, else detected from its text."""
    if article.language:
        return languages.normalise_code(article.language)
    return languages.detect(article.title + "\n" + article.text)


def with_language(article: Article) -> Article:
    """`article` with its `language` set (detected when its source did not say)."""
    return article if article.language else replace(article, language=language_of(article))


def summarise_many(
    articles: Iterable[Article],
    settings: SummariserSettings = SummariserSettings(),  # noqa: B008 (frozen, shared safely)
    topic_matcher: TopicMatcher | None = None,
) -> list[Digest]:
    """`summarise` for each article, in order; settings are checked once, up front."""
    check_settings(settings)
    return [summarise(article, settings, topic_matcher) for article in articles]


def summarise_new(
    articles: Sequence[Article],
    settings: SummariserSettings,
    topic_matcher: TopicMatcher | None = None,
) -> tuple[list[tuple[Article, Digest]], list[str]]:
    """Each article with its language set and its digest, for those that have sentences, and a
    line for each that has none. CPU-bound: the bot runs it on ingestion's own workers (a
    module-level function of `summaries` only, so a worker process imports little)."""
    summarised, problems = [], []
    for unlabelled in articles:
        article = with_language(unlabelled)  # detected once, here, and stored with it
        digest = summarise(article, settings, topic_matcher)
        if digest.bullets:
            summarised.append((article, digest))
        else:
            problems.append(f"{article.source}: {article.title!r} has no sentences; skipped")
    return summarised, problems


def usable_sentences(article: Article, language: str = "en") -> list[str]:
    """The article's sentences that may become bullets, in order.

    Page furniture, the title (and sentences equal to it) and near-duplicates are gone; of
    two near-duplicates the earlier survives. Only the first `MAX_TEXT_CHARS` of the body and
    at most `MAX_RANKED_SENTENCES` sentences are considered (see those constants).
    """
    split = [
        s for paragraph in capped_paragraphs(article) for s in split_sentences(paragraph, language)
    ]
    cleaned = clean_sentences(split)
    title_key = _comparable(article.title)
    title_tokens = set(content_tokens(article.title, language))
    candidates = [
        sentence
        for sentence in cleaned
        if _comparable(sentence) != title_key
        and not (title_tokens and set(content_tokens(sentence, language)) == title_tokens)
    ]
    kept = _drop_near_duplicates(candidates[:MAX_RANKED_SENTENCES], language)
    if len(kept) < len(split):
        logger.debug(
            "%s: %d of %d sentences kept after cleaning and de-duplication",
            article.source,
            len(kept),
            len(split),
        )
    return kept


def capped_paragraphs(article: Article, max_chars: int = MAX_TEXT_CHARS) -> list[str]:
    """The article's paragraphs up to `max_chars` characters in all; the last one is cut at a
    space (or at the cap, if it has none)."""
    kept: list[str] = []
    room = max_chars
    for paragraph in article.paragraphs:
        if len(paragraph) > room:
            cut = paragraph.rfind(" ", 0, room + 1)
            head = paragraph[: cut if cut > 0 else room].strip()
            if head:
                kept.append(head)
            break
        kept.append(paragraph)
        room -= len(paragraph)
    return kept


def _comparable(text: str) -> str:
    return normalise_text(text).strip(" .!?…:;,\"'“”‘’")


def _drop_near_duplicates(sentences: Sequence[str], language: str) -> list[str]:
    token_sets = [frozenset(content_tokens(sentence, language)) for sentence in sentences]
    dropped: set[int] = set()
    for later in range(len(sentences)):
        for earlier in range(later):
            if earlier in dropped or later in dropped:
                continue
            if _same_content(token_sets[earlier], token_sets[later]):
                # The earlier survives: news states a fact first, and a later near-copy is
                # a picture caption, a pull quote or a recap. Keeping the "fuller" one
                # instead let a caption fused with the next sentence evict the lead
                # (lead-3 on news-dev/cnndm 16.5 against 18.2 when the earlier stays).
                dropped.add(later)
    return [sentence for index, sentence in enumerate(sentences) if index not in dropped]


def _same_content(first: frozenset[str], second: frozenset[str]) -> bool:
    if not first or not second:
        return False
    shared = len(first & second)
    if first == second:
        return True
    return shared >= 2 and shared >= DUPLICATE_OVERLAP * min(len(first), len(second))


def shorten(sentence: str, max_chars: int, language: str = "en") -> str:
    """`sentence` if it fits in max_chars, else cut at a clause or word boundary, plus "…".

    The result, ellipsis included, is at most max_chars long, unless the first word alone is
    longer: a word is never split. Clauses end at , ; : (Chinese ， ； ：); in Chinese, which
    has no spaces, word boundaries are jieba's.
    """
    sentence = sentence.strip()
    if len(sentence) <= max_chars:
        return sentence
    segmented = languages.get(language).segmented
    limit = max_chars - len(ELLIPSIS)
    cut = _clause_cut(sentence, limit, segmented)
    if cut is None:
        cut = _word_cut(sentence, limit, segmented)
    if cut is None:  # the first word is longer than the limit: keep it whole
        first_word = sentence.split(maxsplit=1)[0]
        return first_word if first_word == sentence else first_word + ELLIPSIS
    english = languages.get(language).code == "en"
    return _tidy_end(sentence[:cut], segmented, english) + ELLIPSIS


def _clause_cut(sentence: str, limit: int, segmented: bool) -> int | None:
    window = sentence[: limit + 1]  # one more: a boundary right at the limit counts
    clause_end = _ZH_CLAUSE_END if segmented else _CLAUSE_END
    cuts = [match.start() for match in clause_end.finditer(window) if match.start() <= limit]
    good = [
        cut
        for cut in cuts
        if cut >= _MIN_CLAUSE_SHARE * limit
        and _balanced(window[:cut])
        and (segmented or _readable_cut(sentence, cut))
    ]
    return max(good) if good else None


def _word_cut(sentence: str, limit: int, segmented: bool) -> int | None:
    window = sentence[: limit + 1]
    if segmented:
        starts = [start for start in languages.word_starts(window) if 0 < start <= limit]
        return max(starts) if starts else None
    spaces = [index for index, char in enumerate(window) if char.isspace() and index <= limit]
    spaces = [index for index in spaces if window[:index].strip()]
    # Best a readable cut, else at least one outside a name, else the last word boundary.
    readable = [index for index in spaces if _readable_cut(sentence, index)]
    outside_names = [index for index in spaces if not _inside_name(sentence, index)]
    best = readable or outside_names or spaces
    return max(best) if best else None


def _readable_cut(sentence: str, cut: int) -> bool:
    """A cut that leaves a clause a reader can use: not inside a name, main verb kept.

    Without a tagger, "keeps the main verb" is approximated as "keeps a lower-case word that is
    not a function word or an auxiliary" (verbs are lower case, names are not). Scripts
    without case are not judged on it.
    """
    if _inside_name(sentence, cut):
        return False
    before = sentence[:cut].split()
    cased = [word for word in before if word[:1].lower() != word[:1].upper()]
    if not cased:
        return True
    return any(
        word.islower() and word.strip(".,;:\"'“”‘’()") not in ENGLISH_FUNCTION_WORDS
        for word in before
    )


def _inside_name(sentence: str, cut: int) -> bool:
    """Between two capitalised words ("Innovation | Group", "Co., | Ltd.") or right after a
    title or legal abbreviation ("Co.", "Mr.")."""
    before = sentence[:cut].split()
    after = sentence[cut:].lstrip(" ,;:").split(maxsplit=1)
    if not before:
        return True
    last = before[-1].strip("\"'“”‘’()")
    if last.rstrip(",").lower() in _NAME_ABBREVIATIONS:
        return True
    return bool(after) and _capitalised(last) and _capitalised(after[0].strip("\"'“”‘’("))


def _capitalised(word: str) -> bool:
    return bool(word) and word[0].isupper()


def _balanced(text: str) -> bool:
    """No bracket or double quote left open by the cut."""
    return (
        text.count("(") <= text.count(")")
        and text.count("[") <= text.count("]")
        and text.count('"') % 2 == 0
        and text.count("“") <= text.count("”")
        and text.count("（") <= text.count("）")
        and text.count("《") <= text.count("》")
        and text.count("「") <= text.count("」")
    )


def _tidy_end(text: str, segmented: bool = False, english: bool = True) -> str:
    """Strip trailing punctuation and dangling function words ("the", "and") before "…".

    Only English and Chinese have such a list: elsewhere a short word may carry meaning
    (French "pas"), so it stays.
    """
    text = _TRAILING_JOINERS.sub("", text)
    if segmented:
        return _tidy_segmented_end(text)
    dangling = _DANGLING_WORDS if english else frozenset()
    words = list(_NON_SPACE.finditer(text))
    while len(words) > 1 and words[-1].group().lower() in dangling:
        words.pop()
        text = _TRAILING_JOINERS.sub("", text[: words[-1].end()])
        words = list(_NON_SPACE.finditer(text))
    return text


def _tidy_segmented_end(text: str) -> str:
    """The same for Chinese: no trailing 的, 和, 在 ... (jieba's words decide what a word is)."""
    starts = languages.word_starts(text)
    while len(starts) > 1 and text[starts[-1] :] in _ZH_DANGLING_WORDS:
        text = _TRAILING_JOINERS.sub("", text[: starts[-1]])
        starts = languages.word_starts(text)
    return text
