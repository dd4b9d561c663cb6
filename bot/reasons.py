"""Why a source cannot be followed or fetched, in the reader's language.

summaries/ gives its reasons in English, each one of the templates in
`summaries.sources.reasons` with its placeholders filled in; this module gives the bot's own
(resolving a user's URL, polling it). `translate_reason` recognises the template of a reason,
also of one stored long ago as a source's last error, and says it with t's catalog; a value
inside it that is itself a reason ("... ({error})") is translated in turn. A text that fits no
template (an exception's own words) is shown as it is. tests/bot/test_i18n.py keeps the list
below in step with summaries'.

Readers of /add and /sources get `plain_reason`: what went wrong in plain words ("page not
found (HTTP 404)", "the server did not answer"), without the URL they already see next to it
or a library's exception text; the technical reason stays in the log and in /stats.
"""

from __future__ import annotations

import re
import string
from functools import cache

from bot.i18n import N_, Translator
from summaries.sources import reasons

# The bot's own reasons (bot/usersources).
TOOK_TOO_LONG = N_("{url} took too long to answer")
NOT_A_READABLE_FEED = N_("{url} is not a feed this bot can read ({error})")
NO_FEED_NO_LINKS = N_("{url} has no feed and no links to articles")
INTERNAL_ERROR = N_("could not be read (internal error)")

# The same, in plain words for readers (see `plain_reason`).
PLAIN_TIMED_OUT = N_("timed out")
PLAIN_NO_ANSWER = N_("the server did not answer")
PLAIN_NOT_FOUND = N_("page not found (HTTP {status})")
PLAIN_REFUSED = N_("the server refused (HTTP {status})")
PLAIN_SERVER_ERROR = N_("the server had a problem (HTTP {status})")
PLAIN_HTTP_STATUS = N_("the server answered HTTP {status}")
PLAIN_TOO_LARGE = N_("the page is too large")
PLAIN_NOT_A_FEED = N_("this does not look like a readable feed")
PLAIN_NO_FEED_NO_LINKS = N_("the page has no feed and no links to articles")
_PLAIN = {
    reasons.TIMED_OUT: PLAIN_TIMED_OUT,
    TOOK_TOO_LONG: PLAIN_TIMED_OUT,
    reasons.CANNOT_FETCH: PLAIN_NO_ANSWER,
    reasons.TOO_LARGE: PLAIN_TOO_LARGE,
    NOT_A_READABLE_FEED: PLAIN_NOT_A_FEED,
    NO_FEED_NO_LINKS: PLAIN_NO_FEED_NO_LINKS,
}

# Every reason a reader may see: summaries.sources.reasons.TEMPLATES, marked for the
# catalogs here (summaries/ has no catalogs), then the bot's own.
TEMPLATES = (
    N_("this is not a valid web address ({detail})"),
    N_("only http:// and https:// addresses can be followed"),
    N_("the address has no host name"),
    N_("addresses with a user name or password are not accepted"),
    N_("port 0 is not a valid port"),
    N_("{host} is a private or reserved address"),
    N_("{host} resolves to a private or reserved address"),
    N_("cannot resolve {host}"),
    N_("unix sockets are never reachable from a user's URL"),
    N_("timed out fetching {url}"),
    N_("response from {url} is larger than {limit} bytes"),
    N_("invalid URL {url} ({detail})"),
    N_("cannot fetch {url} ({detail})"),
    N_("HTTP {status} {reason} from {url}"),
    N_("the file is larger than {size} KB"),
    N_("the file declares a document type or entities, which OPML never needs"),
    N_("the file is not well-formed XML ({detail})"),
    N_("the file is XML but not OPML (its root element is not <opml>)"),
    N_("the file has more than {count} outlines"),
    TOOK_TOO_LONG,
    NOT_A_READABLE_FEED,
    NO_FEED_NO_LINKS,
    INTERNAL_ERROR,
)
# Values that are addresses or numbers stay as they are; these may hold a reason themselves.
_NESTED = frozenset({"error", "detail"})


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each template as a pattern that captures its placeholders, most literal text first
    (so that a specific template wins over a general one)."""
    compiled = []
    for template in TEMPLATES:
        parts = []
        for literal, name, _spec, _conversion in string.Formatter().parse(template):
            parts.append(re.escape(literal))
            if name is not None:
                parts.append(f"(?P<{name}>.*?)")
        compiled.append((template, re.compile("".join(parts), re.DOTALL)))
    literal_size = {template: len(re.sub(r"\{\w+\}", "", template)) for template in TEMPLATES}
    return tuple(sorted(compiled, key=lambda item: -literal_size[item[0]]))


def translate_reason(t: Translator, reason: str, depth: int = 0) -> str:
    """`reason` in t's language when it is one of the known templates; else as it is."""
    if t.language == "en" or not reason or depth > 2:
        return reason
    stripped = reason.strip()
    for template, pattern in _patterns():
        match = pattern.fullmatch(stripped)
        if match is None:
            continue
        values = {
            name: translate_reason(t, value, depth + 1) if name in _NESTED else value
            for name, value in match.groupdict().items()
        }
        return t.gettext(template).format(**values)
    return reason


def _match(reason: str) -> tuple[str, dict[str, str]] | None:
    stripped = reason.strip()
    for template, pattern in _patterns():
        match = pattern.fullmatch(stripped)
        if match is not None:
            return template, match.groupdict()
    return None


def plain_reason(t: Translator, reason: str) -> str:
    """`reason` in plain words in t's language, for readers: no URL (they see it beside the
    reason) and no library's error text. Reasons that are plain already are translated."""
    found = _match(reason)
    if found is None:
        return reason
    template, values = found
    if template == reasons.HTTP_STATUS:
        status = values["status"].strip()
        code = int(status) if status.isdigit() else 0
        if code in (404, 410):
            plain = PLAIN_NOT_FOUND
        elif code in (401, 403, 451):
            plain = PLAIN_REFUSED
        elif code >= 500:
            plain = PLAIN_SERVER_ERROR
        else:
            plain = PLAIN_HTTP_STATUS
        return t.gettext(plain).format(status=status)
    if template in _PLAIN:
        return t.gettext(_PLAIN[template])
    return translate_reason(t, reason)
