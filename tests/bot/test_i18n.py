"""The catalogs match the code: every text translated, nothing stale, placeholders intact."""

from __future__ import annotations

import ast
import re
import string
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import DEFAULT_LANGUAGE, LOCALE_DIR, Catalogs, language_tag

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"
PO_FILES = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def extracted() -> dict[str | tuple[str, ...], Path]:
    """What `pybabel extract -F babel.cfg` finds in bot/: each message and one file using it."""
    found: dict[str | tuple[str, ...], Path] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        BOT_DIR, method_map=[("**.py", "python")], keywords=DEFAULT_KEYWORDS
    ):
        found.setdefault(message, BOT_DIR / filename)
    return found


def load(po_file: Path) -> Catalog:
    with po_file.open("rb") as handle:
        return read_po(handle, locale=po_file.parent.parent.name)


def entries(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def ids(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def strings(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def placeholders(text: str) -> Counter[str]:
    return Counter(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def test_there_is_a_catalog_besides_english():
    assert [po.parent.parent.name for po in PO_FILES] == ["zh"]


@pytest.mark.parametrize("po_file", PO_FILES, ids=lambda po: po.parent.parent.name)
def test_every_text_in_the_code_is_translated_and_nothing_else(po_file):
    catalog = load(po_file)
    in_code = extracted()
    in_catalog = {message.id for message in entries(catalog)}
    missing = [f"{in_code[m]}: {m!r}" for m in in_code if m not in in_catalog]
    assert not missing, "not in the catalog (see README, 'Adding a language'):\n" + "\n".join(
        missing
    )
    stale = [m for m in in_catalog if m not in in_code]
    assert not stale, f"in the catalog but no longer in the code: {stale}"
    assert not catalog.obsolete, f"obsolete entries: {list(catalog.obsolete)}"


@pytest.mark.parametrize("po_file", PO_FILES, ids=lambda po: po.parent.parent.name)
def test_every_entry_is_translated_and_not_fuzzy(po_file):
    catalog = load(po_file)
    for message in entries(catalog):
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        assert all(text.strip() for text in strings(message)), f"untranslated: {message.id!r}"
        if isinstance(message.id, tuple):
            assert len(strings(message)) == catalog.num_plurals, message.id


@pytest.mark.parametrize("po_file", PO_FILES, ids=lambda po: po.parent.parent.name)
def test_translations_keep_placeholders_and_markup(po_file):
    for message in entries(load(po_file)):
        expected = placeholders(ids(message)[-1])
        tags = Counter(_TAG.findall(ids(message)[0]))
        for text in strings(message):
            # A plural translation may leave out {count} ("one article"), never add a name.
            found = placeholders(text)
            if isinstance(message.id, tuple):
                assert set(found) <= set(expected), (message.id, text)
            else:
                assert found == expected, (message.id, text)
            assert Counter(_TAG.findall(text)) == tags, (message.id, text)
            text.format(**dict.fromkeys(expected, "x"))  # no stray braces


class _LiteralCalls(ast.NodeVisitor):
    """Every gettext-style call with a literal first argument, also inside f-strings."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        first = node.args[0] if node.args else None
        if (
            name in DEFAULT_KEYWORDS
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
        ):
            self.found.append(first.value)
        self.generic_visit(node)


def test_the_extractor_sees_every_literal_text():
    """Babel skips calls inside f-strings: such a text would never reach a catalog."""
    seen = {m if isinstance(m, str) else m[0] for m in extracted()}
    for path in BOT_DIR.rglob("*.py"):
        visitor = _LiteralCalls()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        unseen = [text for text in visitor.found if text not in seen]
        assert not unseen, f"{path}: move these out of f-strings: {unseen}"


# --- choosing a language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh", "zh"),
        ("zh-hans", "zh"),
        ("zh-CN", "zh"),
        ("zh_SG", "zh"),
        ("en", "en"),
        ("en-US", "en"),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_telegram_language_codes_map_to_a_catalog(code, expected):
    assert Catalogs.load().supported(code) == expected


def test_the_chat_language_wins_over_the_users_and_english_is_the_fallback():
    catalogs = Catalogs.load()
    assert catalogs.pick("en", "zh-hans").language == "en"
    assert catalogs.pick(None, "zh-hans").language == "zh"
    assert catalogs.pick(None, "de").language == DEFAULT_LANGUAGE
    assert catalogs.pick("xx", None).language == DEFAULT_LANGUAGE


def test_translators_translate_and_fall_back_to_english():
    catalogs = Catalogs.load()
    zh = catalogs.get("zh")
    assert zh.gettext("Commands") == "命令"
    assert zh.gettext("A text nobody translated") == "A text nobody translated"
    assert catalogs.get("en").gettext("Commands") == "Commands"
    assert catalogs.languages == ("en", "zh")


def test_language_tag():
    assert language_tag(" ZH_hant-TW ") == "zh"


def test_the_query_errors_passed_on_are_in_the_catalogs():
    from bot.parsing import QUERY_PROBLEMS
    from summaries.matching import KeywordQuery, QueryError

    for text in ('""', " ".join(f"w{n}" for n in range(40))):
        with pytest.raises(QueryError) as error:
            KeywordQuery.parse(text)
        assert str(error.value) in QUERY_PROBLEMS


def test_usage_errors_are_answered_in_the_readers_language():
    from bot.parsing import UsageError, check_argument_text, parse_time, parse_timezone

    catalogs = Catalogs.load()
    zh, en = catalogs.get("zh"), catalogs.get("en")
    with pytest.raises(UsageError) as error:
        parse_time("25:00")
    assert (
        error.value.message(zh) == "“25:00”不是有效的时间。请以 HH:MM 格式发送，例如 /time 08:00"
    )
    assert error.value.message(en) == str(error.value)
    with pytest.raises(UsageError) as error:
        parse_timezone("Europe/Berlinn")
    assert "Did you mean Europe/Berlin" in str(error.value)
    assert "你是不是想找 Europe/Berlin" in error.value.message(zh)
    with pytest.raises(UsageError) as error:
        check_argument_text("  ", what="search words", example="/search x")
    assert error.value.message(zh) == "请在命令后面写上搜索词，例如 /search x"
    assert str(error.value) == "Send some search words after the command, for example /search x"


def test_every_reason_summaries_gives_is_in_the_catalogs():
    from bot.reasons import TEMPLATES
    from summaries.sources import reasons

    assert set(reasons.TEMPLATES) <= set(TEMPLATES)


def test_reasons_are_translated_also_when_stored_and_nested():
    from bot.reasons import translate_reason
    from summaries.sources import reasons

    catalogs = Catalogs.load()
    zh, en = catalogs.get("zh"), catalogs.get("en")
    private = reasons.PRIVATE_ADDRESS.format(host="10.0.0.1")
    assert translate_reason(zh, private) == "10.0.0.1 是私有或保留地址"
    assert translate_reason(en, private) == private
    status = reasons.HTTP_STATUS.format(status=500, reason="Server Error", url="https://x.org/f")
    assert translate_reason(zh, status) == "https://x.org/f 返回 HTTP 500 Server Error"
    nested = "https://x.org/f is not a feed this bot can read (the file has more than 5 outlines)"
    assert "文件中的条目超过 5 个" in translate_reason(zh, nested)
    assert translate_reason(zh, "ValueError: odd") == "ValueError: odd"


# --- no English left out of the catalogs ---------------------------------------------------

# Modules whose strings readers see. Internal ones (store, delivery bookkeeping, logs) may
# speak English: nobody but the operator reads them.
READER_MODULES = sorted(
    [
        *(BOT_DIR / "handlers").glob("*.py"),
        BOT_DIR / "render.py",
        BOT_DIR / "commands.py",
        BOT_DIR / "schedule.py",
        BOT_DIR / "parsing.py",
        BOT_DIR / "usersources" / "poll.py",
    ]
)
# Words in a sentence: two words of letters with a space between them ("Nothing was", "of 2").
_PROSE = re.compile(r"[A-Za-z]{2,}[,;:]? +[A-Za-z]{2,}|[A-Za-z]{3,}[.?!]$")
_MACHINE_TEXTS = {
    "not modified",  # matched against Telegram's error text
    "www.",
}
_TRANSLATING = {*DEFAULT_KEYWORDS, "N_"}
_NOT_FOR_READERS = {
    "debug",
    "info",
    "warning",
    "error",
    "exception",
    "critical",
    "getLogger",
    "RuntimeError",
    "AssertionError",
    "TypeError",
    "KeyError",
    "ValueError",  # a caller's mistake, not a reader's (UsageError is what readers see)
    "deactivate_chat",  # why, for the operator's records
}


def _untranslated_prose(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        text = _TAG.sub(" ", node.value)
        if (
            not _PROSE.search(text)
            or node.value in _MACHINE_TEXTS
            or node.value.startswith("/")  # a command as an example: the same in any language
        ):
            continue
        current: ast.AST = node
        exempt = False
        while current in parents and not exempt:
            parent = parents[current]
            if isinstance(parent, ast.Expr):
                exempt = current is node  # a docstring (a statement of just a string)
                break
            elif isinstance(parent, ast.Call):
                func = parent.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                exempt = name in _TRANSLATING or name in _NOT_FOR_READERS
            current = parent
        if not exempt:
            found.append(f"{path.relative_to(BOT_DIR)}:{node.lineno}: {node.value!r}")
    return found


def test_texts_readers_see_go_through_the_catalogs():
    """Prose in the modules that talk to readers is in a gettext call or marked with N_."""
    found = [line for path in READER_MODULES for line in _untranslated_prose(path)]
    assert not found, "wrap these with t.gettext(...) or N_(...):\n" + "\n".join(found)


def test_lists_and_sentences_are_joined_the_way_each_language_writes_them():
    from bot.i18n import join_list, join_sentences

    catalogs = Catalogs.load()
    zh, en = catalogs.get("zh"), catalogs.get("en")
    assert join_list(["Quantum", "AI"], en) == "Quantum, AI"
    assert join_list(["量子通信", "人工智能"], zh) == "量子通信、人工智能"
    assert join_sentences(["Tap a topic.", "For example: x"], en) == "Tap a topic. For example: x"
    assert join_sentences(["点按话题。", "例如：x"], zh) == "点按话题。例如：x"


# Chinese full-width punctuation carries its own spacing, and Chinese words are not separated.
_FULL_WIDTH = "\u3000-\u303f\uff00-\uffef“”‘’…—"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_STRAY_SPACE = re.compile(rf"[{_FULL_WIDTH}] +| +[{_FULL_WIDTH}]|[{_HAN}] +[{_HAN}]")
# ... except in a command example, typed as it is sent: "/subscribe 新药 审批", and the space
# that ends one ("/frequency 每天 或 /frequency 每周一").
_COMMAND_EXAMPLE = re.compile(rf"/[a-z_]+(?: [^\s{_FULL_WIDTH}]+)* ?")


def stray_spaces(text: str) -> list[str]:
    """Where `text` (Chinese) has an ASCII space beside full-width punctuation or between two
    Chinese characters, outside command examples."""
    return [match.group() for match in _STRAY_SPACE.finditer(_COMMAND_EXAMPLE.sub("/x", text))]


def test_stray_spaces_are_found_and_command_examples_spared():
    assert stray_spaces("“每周” 不是有效的频率。") == ["” "]
    assert stray_spaces("暂无 —— 用 /topics 选择") == [" —", "— "]
    assert stray_spaces("我不认识 “Mars” 这个时区") == [" “", "” "]
    assert stray_spaces("已订阅 量子") == ["阅 量"]
    assert stray_spaces("例如 /frequency 每天 或 /frequency 每周一") == []
    assert stray_spaces("/subscribe 新药 审批（同时包含两个词的文章）") == []
    assert stray_spaces("每天 {time}（{zone}）。共 {total} 条，见 /list。") == []


def test_chinese_texts_have_no_space_beside_full_width_punctuation_or_between_words():
    """No ASCII space next to 。，、：；！？（）“”… or between two Chinese characters."""
    [po_file] = [po for po in PO_FILES if po.parent.parent.name == "zh"]
    stray = {
        text: found
        for message in entries(load(po_file))
        for text in strings(message)
        if (found := stray_spaces(text))
    }
    assert not stray
    zh = Catalogs.load().get("zh")
    assert zh.gettext("Hello, {group}!") == "{group}的各位，大家好！"
    assert zh.gettext("{setting}: {value} (was {old}).") == "{setting}：{value}（原为{old}）。"
