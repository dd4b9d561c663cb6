"""Text from sources is cleaned before it is stored or shown."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from summaries.models import Article
from summaries.sanitize import has_unsafe_characters, sanitize_text


def test_nul_and_control_characters_go_but_tabs_and_newlines_stay():
    assert sanitize_text("a\x00b\x07c\x1bd\x7fe\x85f") == "abcdef"
    assert sanitize_text("line one\nline\ttwo\r\n") == "line one\nline\ttwo\r\n"


def test_bidi_overrides_and_isolates_are_removed():
    spoofed = "invoice\u202egpj.exe"
    assert sanitize_text(spoofed) == "invoicegpj.exe"
    assert sanitize_text("\u2066x\u2067y\u2068z\u2069\u202a\u202b\u202c\u202d") == "xyz"


def test_lone_surrogates_and_noncharacters_become_replacement_characters():
    assert sanitize_text("a\ud800b\uffffc") == "a\ufffdb\ufffdc"
    assert sanitize_text("\ufeffTitle") == "Title"


def test_ordinary_text_in_any_script_is_unchanged():
    for text in ("Quantum network", "量子通信网络", "Привет, мир", "שלום\u200f", "e\u0301"):
        assert sanitize_text(text) == text


@given(st.text())
def test_sanitised_text_is_safe_encodable_and_stable(text):
    clean = sanitize_text(text)
    assert not has_unsafe_characters(clean)
    clean.encode("utf-8")
    assert sanitize_text(clean) == clean


def test_articles_are_created_clean():
    article = Article.create(
        source="feed\x00",
        title="Evil\u202e title\x00",
        paragraphs=["ok\x00", "\x00\x01"],
        url="https://example.org/a\x00",
        tags=["t\x00"],
    )
    assert article.title == "Evil title"
    assert article.paragraphs == ("ok",)
    assert article.url == "https://example.org/a"
    assert article.tags == ("t",)
    assert article.source == "feed"


def test_undeclared_legacy_charsets_are_detected_not_read_as_latin_1():
    from summaries.sources.base import decode_bytes

    chinese = "上海量子通信网络正式开通，九个城市的银行和医院将率先使用这一网络。"
    russian = "Квантовая сеть связала девять городов. Банки и больницы будут первыми."
    for text, charset in ((chinese, "gbk"), (russian, "cp1251")):
        decoded, problems = decode_bytes(f"<p>{text}</p>".encode(charset), "page.html")
        assert decoded == f"<p>{text}</p>"
        assert "(detected)" in problems[0]
    assert decode_bytes("Café au lait".encode("cp1252"), "s")[0] == "Café au lait"
    mostly_utf8 = "naïve café – résumé".encode() + b"\xff"
    assert decode_bytes(mostly_utf8, "s")[0] == "naïve café – résumé\ufffd"
