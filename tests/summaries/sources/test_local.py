from pathlib import Path

import pytest

from summaries.sources import SourceSpec, read_local
from tests.summaries.sources.conftest import DATA, SAMPLE

RSS = b"""<rss version="2.0"><channel><title>x</title>
<item><title>Feed item</title><link>https://x.org/1</link><description>Feed text.</description>
</item></channel></rss>"""


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "news"
    write(root / "b.txt", "Plain title\n\nPlain body.\n")
    write(root / "a" / "z.md", "# Markdown title\n\nMarkdown *body*.\n")
    write(root / "a" / "page.html", (DATA / "news_page.html").read_bytes())
    write(root / "feed.xml", RSS)
    write(root / "seed.txt", SAMPLE.read_bytes())
    write(root / ".hidden.txt", "Hidden\n\nNever read.\n")
    write(root / ".git" / "x.txt", "Hidden dir\n\nNever read.\n")
    write(root / "notes.pdf", b"%PDF-1.4 not an article type")
    return root


def test_folder_is_read_recursively_in_a_stable_order_by_type(folder):
    result = read_local(SourceSpec(name="local", location=str(folder)))
    assert result.error is None and result.problems == ()
    titles = [article.title for article in result.articles]
    assert titles[:4] == [
        "Quantum link spans 300 km",  # a/page.html
        "Markdown title",  # a/z.md
        "Plain title",  # b.txt
        "Feed item",  # feed.xml
    ]
    assert len(titles) == 4 + 6  # seed.txt holds six articles
    assert result.source == "local"
    assert result.articles[0].source == str(folder / "a" / "page.html")
    assert result.articles[1].paragraphs == ("Markdown body.",)


def test_re_ingesting_gives_the_same_ids(folder):
    spec = SourceSpec(name="local", location=str(folder))
    assert [a.id for a in read_local(spec).articles] == [a.id for a in read_local(spec).articles]


def test_an_unreadable_file_is_a_problem_naming_it_and_the_rest_still_load(folder):
    (folder / "broken.txt").symlink_to(folder / "missing-target.txt")
    result = read_local(SourceSpec(name="local", location=str(folder)))
    assert len(result.articles) == 10
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"{folder / 'broken.txt'}: unreadable (")
    assert result.problems[0].endswith("; skipped")


def test_undecodable_bytes_are_a_warning_and_the_article_loads(tmp_path):
    path = write(tmp_path / "latin.txt", "Caf\u00e9 title\n\nCr\u00e8me.\n".encode("cp1252"))
    result = read_local(SourceSpec(name="x", location=str(path)))
    assert [a.title for a in result.articles] == ["Caf\u00e9 title"]
    assert result.problems == (
        f"{path}: not valid UTF-8 (byte 0xe9 at offset 3); decoded as windows-1252",
    )


def test_a_file_that_is_not_a_feed_is_a_problem_not_an_error(tmp_path):
    write(tmp_path / "good.txt", "Good\n\nText.\n")
    bad = write(tmp_path / "bad.xml", "<rss><not closed")
    result = read_local(SourceSpec(name="x", location=str(tmp_path)))
    assert [a.title for a in result.articles] == ["Good"]
    assert result.error is None
    assert len(result.problems) == 1 and result.problems[0].startswith(f"{bad}: ")


def test_empty_folder_is_a_warning(tmp_path):
    result = read_local(SourceSpec(name="empty", location=str(tmp_path)))
    assert result.articles == () and result.error is None
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"{tmp_path}: folder holds no article files (")


def test_missing_path_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere"
    result = read_local(SourceSpec(name="gone", location=str(missing)))
    assert result.articles == ()
    assert result.error == f"{missing} does not exist"


def test_unknown_timezone_is_an_error(tmp_path):
    result = read_local(SourceSpec(name="x", location=str(tmp_path), timezone="Nowhere/City"))
    assert result.error == "unknown timezone 'Nowhere/City'"


def test_kind_forces_the_parser_for_every_file(tmp_path):
    write(tmp_path / "one.txt", SAMPLE.read_bytes())
    forced = read_local(SourceSpec(name="x", location=str(tmp_path), kind="text"))
    assert len(forced.articles) == 1
    seed = write(tmp_path / "other.md", "Title\n\nRelease time:May 1, 2024 9:00 AM\n\nBody.\n")
    result = read_local(SourceSpec(name="x", location=str(seed), kind="seed", timezone="UTC"))
    assert str(result.articles[0].published) == "2024-05-01 09:00:00+00:00"


def test_seed_file_uses_shanghai_time_unless_the_source_says_otherwise():
    shanghai = read_local(SourceSpec(name="s", location=str(SAMPLE))).articles[0].published
    utc = read_local(SourceSpec(name="s", location=str(SAMPLE), timezone="UTC")).articles[0]
    assert shanghai.utcoffset().total_seconds() == 8 * 3600
    assert utc.published.utcoffset().total_seconds() == 0


def test_max_articles_cuts_with_a_note():
    result = read_local(SourceSpec(name="s", location=str(SAMPLE), max_articles=4))
    assert len(result.articles) == 4
    assert result.problems == (f"{SAMPLE}: kept the first 4 of 6 articles (max_articles)",)


def test_bbc_folder_gives_fifty_articles_titled_by_their_first_lines(bbc_articles):
    result = read_local(SourceSpec(name="bbc", location=str(bbc_articles)))
    assert result.error is None and result.problems == ()
    assert len(result.articles) == 50
    files = sorted(bbc_articles.rglob("*.txt"))
    expected = [f.read_text(encoding="utf-8").splitlines()[0].strip() for f in files]
    assert [a.title for a in result.articles] == expected
    for article, path in zip(result.articles, files, strict=True):
        assert article.source == str(path)
        body_lines = [line.strip() for line in path.read_text().splitlines()[1:] if line.strip()]
        # Every sentence line is kept, soft-wrapped into paragraphs, none lost or reordered.
        assert " ".join(article.paragraphs) == " ".join(body_lines)
