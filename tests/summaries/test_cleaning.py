"""Page furniture is recognised and dropped; ordinary sentences survive."""

from __future__ import annotations

from pathlib import Path

import pytest

from summaries.cleaning import clean_sentence, clean_sentences, is_boilerplate, is_fragment
from summaries.sentences import split_sentences

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"

BOILERPLATE = [
    # bylines
    "By John Smith, BBC News",
    "By JOHN SMITH",
    "By Reuters",
    "By our correspondent in Paris",
    "By Jane Doe and Li Wei | Shanghai Daily",
    "Reporting by Li Wei",
    # timestamps and release-time lines
    "PUBLISHED: 14:11 EST, 3 May 2024",
    "PUBLISHED: 14:11 EST, 3 May 2024 | UPDATED: 16:30 EST, 3 May 2024",
    "Updated 10:30 GMT",
    "Last updated on 5 June 2024 at 10:30",
    "Release time:May 24, 2024 11:48 AM",
    "Published 3 May 2024",
    "Posted: Monday, 3 May 2024",
    "May 24, 2024",
    "2024-05-24 11:48",
    "10:30 AM EST",
    # photo captions and credits
    "Photo: Reuters",
    "Photo by John Smith/AFP",
    "(Getty Images)",
    "[Photo/Xinhua]",
    "(AP Photo/John Doe)",
    "Image caption Protesters gathered outside the court",
    "Image copyright Getty Images",
    "Picture: PA",
    "Credit: AP",
    "Source: Xinhua",
    "Editor: Wang Wei",
    "Responsible editor: Li Na",
    "Video caption: the launch",
    # prompts, notes, lists, footers
    "Read more",
    "READ MORE",
    "Read more: Why markets fell",
    "Share this article",
    "Share on Facebook",
    "Click here to subscribe.",
    "Follow us on Twitter",
    "Follow us",
    "Sign up for our newsletter to get the latest news.",
    "Advertisement",
    "Continue reading",
    "Related:",
    "Related: Markets fall; Oil rises",
    "Related stories",
    "See also: earlier coverage",
    "Most read",
    "Watch: the moment the bridge fell",
    "Editor's note: This story was updated to correct a name.",
    "Editor’s Note: an earlier version misspelt her name.",
    "This article was originally published on 3 May.",
    "(Reporting by John Smith; Editing by Jane Doe)",
    "Copyright 2024 BBC. All rights reserved.",
    "© 2024 Shanghai Daily",
    "All rights reserved.",
    "Email: news@example.com",
    # tabloid furniture (issue 7 item 2): empty bylines and stamps, staff credits, captions
    "By .",
    "By . Daily Mail Reporter .",
    "Daily Mail Reporter .",
    "MailOnline Reporter",
    "By . Associated Press .",
    "PUBLISHED: .",
    "UPDATED: .",
    "Last updated at 11:37 AM on 3rd May 2011",
    "Scroll down for video",
    "Pictured: the scene outside the court on Monday",
    "Left to right: the three brothers at the wedding",
    # datelines on their own, and text with no words
    "LONDON (Reuters) -",
    "12345",
    "***",
    "",
]

NEWS = [
    "The photo, taken by Reuters in 1995, shows the minister at the border.",
    "Officials will meet at 10:30 GMT on Monday to discuss the deal.",
    "By 2030, the city plans to double its metro network.",
    "By Monday, officials had agreed to the plan.",
    "Read more books, the minister urged children.",
    "Photos by amateur astronomers show the comet breaking apart over the Pacific.",
    "Share prices rose 3% in early trading.",
    "Time is running out for the talks, he said.",
    "The report was published on 3 May and updated after protests.",
    "Follow the money, the investigator said.",
    "Related charges were dropped last week.",
    "Click, the BBC's technology programme, reported the flaw.",
    "Copyright law is changing across Europe.",
    "The Press Association (PA) said the vote would go ahead.",
    "US - China talks resumed on Friday.",
    "Reporting by the BBC revealed the scandal.",
    "Sources said the deal was close.",
    "The source of the leak is unknown.",
    "Image quality has improved, the firm said.",
    "Subscribers to the service rose 10%.",
    "The editor of the paper resigned on Friday.",
    "Updated guidance will be published in May.",
    "The exhibition runs until 24 May 2024.",
    "Pictures of the flood spread quickly online.",
    "He was born on 3 May 1970 in Leeds.",
    "Date palms are grown across the region.",
    "Published in 1995, the book sold a million copies.",
    "The reporter said he had seen the crash.",
    "Left-wing parties won the vote.",
    "Sign up for the scheme rose sharply after the minister urged every family in the "
    "region to register before the deadline at the end of the month, officials said on "
    "Tuesday.",
]


@pytest.mark.parametrize("sentence", BOILERPLATE)
def test_boilerplate_is_recognised(sentence: str) -> None:
    assert is_boilerplate(sentence)


@pytest.mark.parametrize("sentence", NEWS)
def test_near_misses_are_news(sentence: str) -> None:
    assert not is_boilerplate(sentence)


@pytest.mark.parametrize(
    ("sentence", "cleaned"),
    [
        ("LONDON (Reuters) - Shares rose on Monday.", "Shares rose on Monday."),
        ("Beijing, May 24 (Xinhua) -- China launched a satellite.", "China launched a satellite."),
        ("WASHINGTON, March 3 - The Senate voted.", "The Senate voted."),
        (
            "Protesters gathered in the square. [Photo/Xinhua]",
            "Protesters gathered in the square.",
        ),
        ("(Getty Images) The minister arrived.", "The minister arrived."),
        # Mid-sentence brackets and ordinary dashes are content, not credits or datelines.
        ("The Press Association (PA) said so.", "The Press Association (PA) said so."),
        ("US - China talks resumed.", "US - China talks resumed."),
    ],
)
def test_clean_sentence_trims_datelines_and_edge_credits(sentence: str, cleaned: str) -> None:
    assert clean_sentence(sentence) == cleaned


def test_clean_sentences_drops_furniture_and_keeps_order() -> None:
    sentences = [
        "By John Smith, BBC News",
        "Updated 10:30 GMT",
        "Shares in Acme rose 5% on Monday.",
        "Image caption Traders on the floor",
        "LONDON (Reuters) - Analysts expect more gains.",
        "Read more: Markets today",
        "(Getty Images)",
        "The rally lifted the index to a record.",
    ]
    assert clean_sentences(sentences) == [
        "Shares in Acme rose 5% on Monday.",
        "Analysts expect more gains.",
        "The rally lifted the index to a record.",
    ]


@pytest.mark.skipif(not (CORPUS / "bbc-dev").exists(), reason="../shared/corpus is absent")
def test_no_bbc_dev_sentence_is_mistaken_for_furniture() -> None:
    sentences = [
        sentence
        for path in sorted((CORPUS / "bbc-dev" / "article").rglob("*.txt"))
        for sentence in split_sentences(path.read_text(encoding="utf-8").partition("\n")[2])
    ]
    assert len(sentences) > 800
    assert [s for s in sentences if is_boilerplate(s)] == []


@pytest.mark.skipif(not (CORPUS / "seed").exists(), reason="../shared/corpus is absent")
def test_only_the_release_time_line_of_the_seed_file_is_furniture() -> None:
    text = (CORPUS / "seed" / "000_04df8af467d1954a.txt").read_text(encoding="utf-8")
    flagged = [s for s in split_sentences(text) if is_boilerplate(s)]
    assert flagged == ["Release time:May 24, 2024 11:48 AM"]


@pytest.mark.parametrize(
    "sentence",
    [
        "and the council approved it on Monday.",
        "\u201cbut we will go on,\u201d she said.",
        "Technology Co., Ltd., Zhejiang University Intelligent Innovative Drug Research "
        "Institute, and Hefei Science and Technology Innovation Group Co., Ltd. were selected.",
        "Ltd., Shanghai, was the third.",
        # Cut off mid-sentence (bodies in the seed end like this):
        "According to the introduction, the exhibition\u201c",
        "The museum said the exhibition would open on Monday,",
        "上海发布量子通信新进展，",
    ],
)
def test_fragments_are_recognised(sentence: str) -> None:
    assert is_fragment(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The council approved it on Monday.",
        "Acme Co. said profits rose.",
        "Apple Inc., the iPhone maker, said profits rose.",
        "iPhone sales rose 5%.",
        "Co-operation between the cities grew.",
        "\u201cWe will go on,\u201d she said.",
        "Shanghai opens quantum network",  # a headline-like bullet without a full stop
        "The exhibition is titled \u201c600 Years of Mastery\u201d",
    ],
)
def test_whole_sentences_are_not_fragments(sentence: str) -> None:
    assert not is_fragment(sentence)
