"""The offline sentence splitter and the sumy tokenizer adapter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summaries.sentences import SumyTokenizer, split_paragraphs, split_sentences, words

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
BBC_DEV = CORPUS / "bbc-dev"
SEED_FILE = CORPUS / "seed" / "000_04df8af467d1954a.txt"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith met Dr. Jones at Acme Co. on Friday. They talked.",
            ["Mr. Smith met Dr. Jones at Acme Co. on Friday.", "They talked."],
        ),
        (
            "Shares in Acme Co. Ltd. rose. Investors cheered.",
            ["Shares in Acme Co. Ltd. rose.", "Investors cheered."],
        ),
        (
            "He lives at No. 5 Main Street. It is big.",
            ["He lives at No. 5 Main Street.", "It is big."],
        ),
        (
            "Rates rose in the U.S. The dollar fell.",
            ["Rates rose in the U.S.", "The dollar fell."],
        ),
        (
            "The U.S. economy grew last year. It slowed.",
            ["The U.S. economy grew last year.", "It slowed."],
        ),
        (
            "Prof. Wang of Fudan Univ. spoke. He was clear.",
            ["Prof. Wang of Fudan Univ. spoke.", "He was clear."],
        ),
    ],
)
def test_abbreviations_do_not_end_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "R&D intensity reached 3.77% in the nine cities. The share is 0.065% of land.",
            ["R&D intensity reached 3.77% in the nine cities.", "The share is 0.065% of land."],
        ),
        (
            "It cost $1.13bn. That is 76% more than last year.",
            ["It cost $1.13bn.", "That is 76% more than last year."],
        ),
        (
            "The rate was 3.5 per cent. It fell by 0.2 points.",
            ["The rate was 3.5 per cent.", "It fell by 0.2 points."],
        ),
    ],
)
def test_decimals_and_percentages(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '"We are happy," he said. "It is great." Then he left.',
            ['"We are happy," he said.', '"It is great."', "Then he left."],
        ),
        ('"Is it over?" she asked. Nobody knew.', ['"Is it over?" she asked.', "Nobody knew."]),
        (
            'He wrote: "Just spoke to trev." "think it over" was the reply.',
            ['He wrote: "Just spoke to trev."', '"think it over" was the reply.'],
        ),
        (
            "“Who can forget it?” asked the magazine. It sold well.",
            ["“Who can forget it?” asked the magazine.", "It sold well."],
        ),
    ],
)
def test_quotes(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_a_title_line_never_merges_with_the_first_sentence() -> None:
    text = "Quantum network opens in Shanghai\nThe network links 12 sites. It opened on Monday."
    assert split_sentences(text) == [
        "Quantum network opens in Shanghai",
        "The network links 12 sites.",
        "It opened on Monday.",
    ]


def test_blank_lines_end_paragraphs_and_headings() -> None:
    text = 'Title line\n\nThe "new content" of the industry\n\nFirst sentence. Second one.'
    assert split_sentences(text) == [
        "Title line",
        'The "new content" of the industry',
        "First sentence.",
        "Second one.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "The report was written by\nthe committee last year.",
        "The firm said that\nprofits rose sharply.",
        "Officials met in Shanghai,\nBeijing and Hangzhou on Monday.",
    ],
)
def test_soft_wrapped_lines_are_joined(text: str) -> None:
    assert split_sentences(text) == [" ".join(text.split())]


def test_list_items_are_sentences_of_their_own() -> None:
    text = "The plan has three parts:\n- more trains\n- cheaper fares\n- new stations"
    assert split_sentences(text) == [
        "The plan has three parts:",
        "- more trains",
        "- cheaper fares",
        "- new stations",
    ]


def test_paragraphs_split_on_blank_lines_with_spaces_and_crlf() -> None:
    assert split_paragraphs("One.\r\n  \r\nTwo.\n\n\n Three. ") == ["One.", "Two.", "Three."]


def test_whitespace_inside_a_sentence_is_collapsed() -> None:
    assert split_sentences("Shares  rose\tsharply.   They fell.") == [
        "Shares rose sharply.",
        "They fell.",
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("abc ABC.!?\"'“”,;:()%$0123456789\n\t-")),
        max_size=300,
    )
)
def test_splitting_never_loses_or_invents_text(text: str) -> None:
    sentences = split_sentences(text)
    assert "".join("".join(sentences).split()) == "".join(text.split())
    assert all(sentence and sentence == sentence.strip() for sentence in sentences)


def test_words_are_letters_without_possessives() -> None:
    assert words("Google's e-mail, 76% of U.S. users; don't") == (
        "Google",
        "e-mail",
        "of",
        "U",
        "S",
        "users",
        "don't",
    )


def test_sumy_tokenizer_adapter() -> None:
    tokenizer = SumyTokenizer("english")
    assert tokenizer.language == "english"
    assert tokenizer.to_sentences("Dr. Li spoke. He left.") == ("Dr. Li spoke.", "He left.")
    assert tokenizer.to_words("Dr. Li spoke.") == ("Dr", "Li", "spoke")


@pytest.mark.skipif(not SEED_FILE.exists(), reason="../shared/corpus is absent")
def test_seed_articles_split_cleanly() -> None:
    sentences = split_sentences(SEED_FILE.read_text(encoding="utf-8"))
    assert (
        "It is understood that a total of 37 units from the Nine Cities applied for this time."
        in sentences
    )
    # Company suffixes and percentages stay inside their sentences.
    assert not any(re.match(r"(Ltd|Co)\.", sentence) for sentence in sentences)
    assert any("reached 3.77%;" in sentence for sentence in sentences)
    assert any(
        sentence.startswith("The R&D investment intensity reaches 6.79%") for sentence in sentences
    )
    # Title lines (no final punctuation) stand alone.
    title = (
        "This corridor is accelerating to become a world-class science and technology "
        "innovation corridor, cultivating future industries"
    )
    assert sentences[0] == title


def _bbc_gold() -> list[tuple[str, list[str]]]:
    pairs = []
    for path in sorted((BBC_DEV / "article").rglob("*.txt")):
        body = path.read_text(encoding="utf-8").partition("\n")[2]
        gold = [line.strip() for line in body.splitlines() if line.strip()]
        pairs.append((body, gold))
    return pairs


@pytest.mark.skipif(not BBC_DEV.exists(), reason="../shared/corpus/bbc-dev is absent")
def test_agreement_with_bbc_dev_gold_sentences() -> None:
    # The product joins a paragraph's lines (soft wraps) before splitting: do the same.
    found = expected = matched = 0
    for body, gold in _bbc_gold():
        paragraphs = [" ".join(p.split("\n")) for p in split_paragraphs(body)]
        predicted = [s for paragraph in paragraphs for s in split_sentences(paragraph)]
        found += len(predicted)
        expected += len(gold)
        matched += len(set(predicted) & set(gold))
    precision, recall = matched / found, matched / expected
    assert expected > 800
    assert 2 * precision * recall / (precision + recall) >= 0.98
