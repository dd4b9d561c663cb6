import pytest

from summaries.sources import detect_kind, parse_document
from tests.summaries.sources.conftest import SAMPLE

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
PAGE = b"<!DOCTYPE html><html><head><title>T</title></head><body><p>Body.</p></body></html>"


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "kind"),
    [
        (RSS, None, "text/html", "feed"),  # content beats a wrong label
        (RSS, "feed.txt", None, "feed"),
        (PAGE, None, "application/xml", "html"),
        (b"Title\n\nBody", None, "text/plain; charset=utf-8", "text"),
        (b"# Title\n\nBody", None, "text/markdown", "markdown"),
        (b"# Title\n\nBody", "a.md", None, "markdown"),
        (b"Title\n\nBody", "a.txt", None, "text"),
        (b"<div><p>fragment</p></div>", "page.htm", None, "html"),
        (b"<div><p>fragment</p></div>", None, None, "html"),
        (b"<catalog/>", None, "application/xml", "feed"),  # let the feed parser say no
        (b"Title\n\nBody", "notes.unknown", None, "text"),
    ],
)
def test_detect_kind(data, filename, content_type, kind):
    assert detect_kind(data, filename=filename, content_type=content_type) == kind


def test_auto_text_file_in_seed_format_gives_all_its_articles():
    data = SAMPLE.read_bytes()
    assert len(parse_document(data, "s.txt", filename="s.txt").articles) == 6


def test_forced_kinds():
    data = SAMPLE.read_bytes()
    single = parse_document(data, "s.txt", kind="text", filename="s.txt").articles
    assert len(single) == 1
    seed = parse_document(b"Title\n\nBody.", "n.md", kind="seed", filename="n.md").articles
    assert [a.title for a in seed] == ["Title"]
    page_as_text = parse_document(PAGE + b"\n\nmore", "p.html", kind="text").articles[0]
    assert page_as_text.title.startswith("<!DOCTYPE")


def test_charset_from_content_type_decodes_text():
    data = "Caf\u00e9\n\nCr\u00e8me.".encode("iso-8859-1")
    result = parse_document(data, "u", content_type="text/plain; charset=iso-8859-1")
    assert result.articles[0].title == "Caf\u00e9"
    assert result.problems == ()
