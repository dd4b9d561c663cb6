"""The bot's own texts in the reader's language: gettext catalogs managed with Babel.

English is the source language: every text in the code is an English sentence with named
placeholders, `t.gettext("Next digest: {when}").format(when=...)`, and the catalogs under
`bot/locales/<language>/LC_MESSAGES/messages.po` translate it. The `.po` files are the only
thing committed: `Catalogs.load` compiles them in memory when the bot starts (Babel's own
`write_mo`), so there is no build step and nothing to download. A text without a translation
falls back to English; the tests refuse to ship one (tests/bot/test_i18n.py).

Which language a chat sees: the one stored for the chat (`/language`), otherwise the
Telegram `language_code` of the user writing, otherwise English.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from summaries.models import Topic

LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
# Each language's name in itself, for the /language buttons.
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "zh": "简体中文"}


def N_(message: str) -> str:
    """Marks a text for extraction where it is defined; it is translated where it is shown."""
    return message


def language_tag(code: str | None) -> str:
    """The primary subtag of an IETF tag as Telegram sends it: 'zh-hans', 'zh_CN' -> 'zh'."""
    return (code or "").strip().lower().replace("_", "-").split("-", 1)[0]


@dataclass(frozen=True)
class Translator:
    """The texts of one language, with its plural rules and Babel locale (for dates)."""

    language: str
    translations: gettext.NullTranslations
    locale: Locale

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.translations.ngettext(singular, plural, count)


# How a language separates the items of a list ("Quantum, AI" but "量子通信、人工智能");
# ", " unless listed here.
LIST_SEPARATORS: Mapping[str, str] = {"zh": "、"}


def join_list(items: Iterable[str], t: Translator) -> str:
    """Items as a list in t's language: 'a, b, c' in English, 'a、b、c' in Chinese."""
    return LIST_SEPARATORS.get(t.language, ", ").join(items)


# How a language puts sentences one after another: a space in English, nothing after Chinese
# full-width punctuation ("点按话题即可关注。例如：…"); " " unless listed here.
SENTENCE_SEPARATORS: Mapping[str, str] = {"zh": ""}


def join_sentences(sentences: Iterable[str], t: Translator) -> str:
    """Sentences one after another in t's language (empty ones left out)."""
    separator = SENTENCE_SEPARATORS.get(t.language, " ")
    return separator.join(sentence.strip() for sentence in sentences if sentence.strip())


def topic_title(topic: Topic, t: Translator) -> str:
    """A configured topic's title for t's readers: its `titles` entry, else its `title`."""
    return topic.title_in(t.language)


@cache
def english() -> Translator:
    """The source language, for pure functions called without a reader (tests, previews)."""
    return Translator(DEFAULT_LANGUAGE, gettext.NullTranslations(), Locale.parse(DEFAULT_LANGUAGE))


def compile_catalog(po_file: Path, language: str) -> gettext.GNUTranslations:
    """A .po file as gettext translations, compiled in memory; fuzzy entries are left out."""
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Catalogs:
    """Every language the bot speaks, loaded once at start-up and shared by all handlers."""

    def __init__(self, translators: Mapping[str, Translator]) -> None:
        if DEFAULT_LANGUAGE not in translators:
            raise ValueError(f"the catalogs must include {DEFAULT_LANGUAGE!r}")
        self._translators = dict(translators)

    @classmethod
    def load(cls, directory: Path = LOCALE_DIR) -> Catalogs:
        translators = {DEFAULT_LANGUAGE: english()}
        for po_file in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            language = po_file.parent.parent.name
            translators[language] = Translator(
                language, compile_catalog(po_file, language), Locale.parse(language)
            )
        return cls(translators)

    @property
    def languages(self) -> tuple[str, ...]:
        """The default language first, then the others in name order."""
        others = sorted(code for code in self._translators if code != DEFAULT_LANGUAGE)
        return (DEFAULT_LANGUAGE, *others)

    def supported(self, code: str | None) -> str | None:
        """The language this bot speaks for a Telegram language_code, or None.

        Any Chinese tag ('zh', 'zh-hans', 'zh-CN', also 'zh-TW') gets Simplified Chinese, the
        one written Chinese there is a catalog for.
        """
        tag = language_tag(code)
        return tag if tag in self._translators else None

    def get(self, language: str | None) -> Translator:
        return (
            self._translators.get(language or DEFAULT_LANGUAGE)
            or self._translators[DEFAULT_LANGUAGE]
        )

    def pick(self, chat_language: str | None, user_language_code: str | None) -> Translator:
        """The chat's chosen language, else the user's Telegram language, else English."""
        return self.get(self.supported(chat_language) or self.supported(user_language_code))
