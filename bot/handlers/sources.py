"""Sources a chat adds itself: /add URL [keywords], /sources, /export, OPML files, bare URLs.

The chat's own sources are delivered whole in its digests (or only what matches the keywords
given with /add); its topics and keywords keep applying to the operator's sources.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from bot import callbacks
from bot.handlers.common import (
    argument_text,
    edit_in_place,
    ensure_chat,
    may_change_chat,
    reply,
    services_of,
    translator,
)
from bot.i18n import Translator, join_sentences
from bot.ingest import store_new_articles
from bot.reasons import plain_reason, translate_reason
from bot.render import escape, fits_message, truncate_text
from bot.rounds import following_slot
from bot.schedule import format_local
from bot.selection import ArticleTexts, parsed_query
from bot.services import Services
from bot.store import ChatSettings
from bot.store.user_sources import AsyncUserSourceStore, Follow, SourceLimitReached
from bot.usersources.poll import UserSourcePoller
from bot.usersources.resolve import FEED, Snapshot, SourceUnavailable, resolve
from bot.usersources.settings import UserSourceSettings
from summaries.matching import KeywordQuery, QueryError
from summaries.models import Article
from summaries.sources.guard import UnsafeUrlError, UrlPolicy, check_url
from summaries.sources.opml import OpmlError, OpmlFeed, parse_opml, write_opml

logger = logging.getLogger(__name__)

REMOVE = "srcrm"
ADD = "srcadd"
USER_SOURCES_KEY = "user_sources"
MAX_OPML_FEEDS_PER_FILE = 50
MAX_NEWEST_BULLETS = 3
# Telegram allows 4,096 characters a message: user-supplied URLs, titles and reasons are cut.
SHOWN_URL_CHARS = 80
SHOWN_TITLE_CHARS = 60
SHOWN_REASON_CHARS = 160
# /sources lists up to max_per_chat (20 by default) sources in one message. Each is shown
# whole while the list fits; only a list too long for one message is cut, by the first of these
# (title, URL, detail) limits that makes it fit, and past the last one after as many sources as
# fit. A URL limit of 0 leaves URLs out.
LISTING_CUTS = ((80, 120, 240), (40, 50, 80), (30, 40, 50), (24, 0, 40))
SHOWN_NAMES_PER_LIST = 10


@dataclass(frozen=True)
class AddOutcome:
    followed: bool
    text: str  # the reply, in HTML


@dataclass
class UserSourceServices:
    """What the user-source commands and the poller share; made in post_init, in bot_data."""

    settings: UserSourceSettings
    store: AsyncUserSourceStore
    client: httpx.AsyncClient  # the guarded client: no private addresses, ever
    poller: UserSourcePoller

    @property
    def policy(self) -> UrlPolicy:
        return UrlPolicy.allowing(self.settings.allowed_hosts)


def user_source_services(context: ContextTypes.DEFAULT_TYPE) -> UserSourceServices:
    found = context.bot_data.get(USER_SOURCES_KEY)
    if found is None:
        raise RuntimeError("user sources are set up in post_init")
    return found


async def _prepare(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Services, ChatSettings, Translator] | None:
    """The chat and its language, or None when user sources are off (the user is told)."""
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    if not services.settings.bot.user_sources.enabled:
        await reply(update, escape(t.gettext("Adding your own sources is turned off here.")))
        return None
    return services, chat, t


# -- /add ---------------------------------------------------------------------------------------


async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    prepared = await _prepare(update, context)
    if prepared is None:
        return
    services, chat, t = prepared
    usage = t.gettext(
        "Send a web address to follow: /add https://example.org/news — a feed, or a "
        "news page. Add words after it to get only matching articles: "
        "/add https://example.org/feed quantum"
    )
    if not context.args:
        await reply(update, escape(usage))
        return
    text = argument_text(context)
    url, _, keywords = text.partition(" ")
    if not looks_like_address(url):
        not_one = t.gettext("“{text}” is not a web address.").format(
            text=_short(text, SHOWN_URL_CHARS)
        )
        await reply(update, escape(join_sentences([not_one, usage], t)))
        return
    if not await may_change_chat(update, context):
        return
    outcome = await add_source(update, context, chat, t, url, keywords.strip())
    await reply(update, outcome.text)


async def add_source(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    chat: ChatSettings,
    t: Translator,
    url: str,
    keywords: str = "",
) -> AddOutcome:
    """Follow ``url`` for this chat, and what to tell the user."""
    services, sources = services_of(context), user_source_services(context)
    problem = _check_request(t, url, keywords, sources.policy) or _configured(services, t, url)
    if problem:
        return AddOutcome(False, problem)
    user = update.effective_user
    allowed = await sources.store.record_add_attempt(
        user.id if user else chat.chat_id,
        services.clock(),
        per_hour=sources.settings.adds_per_user_per_hour,
    )
    if not allowed:
        return AddOutcome(
            False,
            escape(
                t.gettext(
                    "You have added {count} sources in the last hour; please try again later."
                ).format(count=sources.settings.adds_per_user_per_hour)
            ),
        )
    await context.bot.send_chat_action(chat.chat_id, ChatAction.TYPING)
    try:
        snapshot = await resolve(
            url,
            sources.client,
            new_links=sources.settings.new_links_per_poll,
            policy=sources.policy,
        )
    except SourceUnavailable as error:
        logger.info("cannot follow %s for chat %s: %s", url, chat.chat_id, error)
        reason = t.gettext("Cannot follow {url}: {reason}").format(
            url=_short(url, SHOWN_URL_CHARS),
            reason=_short(plain_reason(t, str(error)), SHOWN_REASON_CHARS),
        )
        return AddOutcome(False, escape(reason))
    problem = _configured(services, t, snapshot.url)
    if problem:
        return AddOutcome(False, problem)
    return await _follow(
        services, sources, chat, t, snapshot, keywords, user.id if user else None, asked=url
    )


_HOST_AND_PATH = re.compile(r"[\w-]+(?:\.[\w-]+)+(?::\d+)?(?:/\S*)?", re.UNICODE)


def looks_like_address(word: str) -> bool:
    """A word meant as a web address (maybe a wrong one): 'https://…', 'ftp://…' or a host
    name such as 'example.org/feed'; not 'quantum'."""
    return "://" in word or _HOST_AND_PATH.fullmatch(word) is not None


def _short(text: str, limit: int) -> str:
    return truncate_text(" ".join(text.split()), limit)


def _configured(services: Services, t: Translator, url: str) -> str | None:
    """A URL the operator already configured: its articles reach chats through topics and
    keywords, so following it as one's own would only split it in two."""
    if url.strip() not in {spec.location for spec in services.settings.app.sources}:
        return None
    return escape(
        t.gettext(
            "{url} is already one of this bot's sources: follow its topics (/topics) or "
            "keywords (/subscribe) instead."
        ).format(url=url.strip())
    )


def _check_request(t: Translator, url: str, keywords: str, policy: UrlPolicy) -> str | None:
    try:
        check_url(url, policy)
    except UnsafeUrlError as error:
        return escape(
            t.gettext("Cannot follow {url}: {reason}").format(
                url=_short(url, SHOWN_URL_CHARS),
                reason=_short(plain_reason(t, str(error)), SHOWN_REASON_CHARS),
            )
        )
    if keywords:
        try:
            KeywordQuery.parse(keywords)
        except QueryError as error:
            return escape(
                t.gettext("Cannot filter by “{keywords}”: {reason}").format(
                    keywords=keywords,
                    reason=t.gettext(str(error)),  # one of QUERY_PROBLEMS
                )
            )
    return None


async def _follow(
    services: Services,
    sources: UserSourceServices,
    chat: ChatSettings,
    t: Translator,
    snapshot: Snapshot,
    keywords: str,
    user_id: int | None,
    *,
    asked: str,
) -> AddOutcome:
    """Follow the resolved source; `asked` is the URL the user gave (a page, maybe)."""
    now = services.clock()
    try:
        result = await sources.store.follow(
            chat.chat_id,
            url=snapshot.url,
            kind=snapshot.kind,
            title=snapshot.title,
            keywords=keywords,
            added_by=user_id,
            max_per_chat=sources.settings.max_per_chat,
            now=now,
        )
    except SourceLimitReached:
        return AddOutcome(
            False,
            escape(
                t.gettext(
                    "This chat follows {count} sources already; remove one with /sources first."
                ).format(count=sources.settings.max_per_chat)
            ),
        )
    await store_new_articles(services, snapshot.articles, now)
    await sources.store.record_success(
        result.source.id,
        at=now,
        next_fetch_at=now,  # polled again on the next round of the poller
        title=snapshot.title,
        etag=None,
        last_modified=None,
        seen_links=snapshot.links,
    )
    await _schedule_if_overdue(services, chat)
    found_at = snapshot.url if snapshot.kind == FEED and snapshot.url != asked.strip() else None
    private = chat.chat_type == "private"
    if not result.added and keywords == result.previous_keywords:
        return AddOutcome(True, _already_followed_text(t, snapshot, found_at, private=private))
    if result.added:
        headline = escape(t.gettext("Now following {title} ({what}).")).format(
            **_named(t, snapshot)
        )
    else:
        headline = _change_headline(
            t, snapshot, keywords, result.previous_keywords, private=private
        )
    headlines = [headline, *_found_at_line(t, found_at)]
    text = await _followed_text(services, t, snapshot, keywords, headlines, private=private)
    return AddOutcome(True, text)


def _kind_name(t: Translator, snapshot: Snapshot) -> str:
    return t.gettext("feed") if snapshot.kind == FEED else t.gettext("web page")


def _found_at_line(t: Translator, found_at: str | None) -> list[str]:
    """'Found its feed at URL.' when /add was given a page and followed the feed it names."""
    if found_at is None:
        return []
    return [escape(t.gettext("Found its feed at {url}.").format(url=found_at))]


def _named(t: Translator, snapshot: Snapshot) -> dict[str, str]:
    """The {title} (bold) and {what} (feed or web page) of the texts about a source, in HTML."""
    return {"title": f"<b>{escape(snapshot.title)}</b>", "what": escape(_kind_name(t, snapshot))}


def _already_followed_text(
    t: Translator, snapshot: Snapshot, found_at: str | None, *, private: bool
) -> str:
    """Re-adding a source as it is followed already changes nothing: say just that."""
    headline = (
        t.gettext("You already follow {title} ({what}).")
        if private
        else t.gettext("This group already follows {title} ({what}).")
    )
    return "\n".join(
        [escape(headline).format(**_named(t, snapshot)), *_found_at_line(t, found_at)]
    )


def _change_headline(
    t: Translator, snapshot: Snapshot, keywords: str, previous: str, *, private: bool
) -> str:
    """What re-adding a followed source with other keywords (or none) changed, in HTML."""
    if keywords:
        headline = (
            t.gettext("You already follow {title} ({what}); its keywords are updated.")
            if private
            else t.gettext(
                "This group already follows {title} ({what}); its keywords are updated."
            )
        )
        return escape(headline).format(**_named(t, snapshot))
    headline = (
        t.gettext(
            "The keyword filter “{keywords}” is removed: you now get every article from {title}."
        )
        if private
        else t.gettext(
            "The keyword filter “{keywords}” is removed: "
            "this group now gets every article from {title}."
        )
    )
    return escape(headline).format(
        keywords=escape(_short(previous, SHOWN_TITLE_CHARS)), **_named(t, snapshot)
    )


async def _schedule_if_overdue(services: Services, chat: ChatSettings) -> None:
    """A chat that followed nothing may have a due time in the past: move it to its next slot."""
    now = services.clock()
    if chat.next_digest_at is not None and chat.next_digest_at <= now:
        await services.store.update_chat(chat.chat_id, next_digest_at=following_slot(chat, now))


async def _followed_text(
    services: Services,
    t: Translator,
    snapshot: Snapshot,
    keywords: str,
    headlines: list[str],
    *,
    private: bool,
) -> str:
    """What following (or re-following) a source brings: its articles, the newest, in HTML."""
    lines = list(headlines)
    if snapshot.articles:
        count = t.ngettext(
            "It has {count} article now.", "It has {count} articles now.", len(snapshot.articles)
        ).format(count=len(snapshot.articles))
    else:
        count = t.gettext("It has no articles yet.")
    lines.append(escape(count))
    if keywords:
        lines.append(
            escape(t.gettext("Only articles matching: {keywords}")).format(
                keywords=f"<b>{escape(keywords)}</b>"
            )
        )
    lines += await _newest_bullets(services, t, snapshot, keywords)
    closing = (
        t.gettext("New articles come in your digests; /sources lists yours.")
        if private
        else t.gettext("New articles come in this group's digests; /sources lists its sources.")
    )
    lines.append(escape(closing))
    return "\n".join(lines)


def _matching(articles: Sequence[Article], keywords: str) -> list[Article]:
    """The articles that the keywords given with /add let through (all without keywords)."""
    if not keywords:
        return list(articles)
    query = parsed_query(keywords)
    if query is None:
        return []
    texts = ArticleTexts()
    found = []
    for article in articles:
        texts.add(article)
        text = texts.get(article.id)
        if text is not None and query.matches(text):
            found.append(article)
    return found


async def _newest_bullets(
    services: Services, t: Translator, snapshot: Snapshot, keywords: str
) -> list[str]:
    """The newest article the chat will get from the source (with its first bullets)."""
    if not snapshot.articles:
        return []
    matching = _matching(snapshot.articles, keywords)
    if not matching:
        none = t.gettext("None of its articles matches {keywords} yet.")
        return ["", escape(none).format(keywords=f"<b>{escape(keywords)}</b>"), ""]
    newest = max(
        matching,
        key=lambda article: article.published.timestamp() if article.published else 0.0,
    )
    stored = await services.store.get_articles([newest.id])
    if not stored:
        return []
    heading = t.gettext("Newest matching: {title}") if keywords else t.gettext("Newest: {title}")
    lines = ["", escape(heading).format(title=f"<b>{escape(newest.title)}</b>")]
    lines += [f"• {escape(bullet)}" for bullet in stored[0].digest.bullets[:MAX_NEWEST_BULLETS]]
    return [*lines, ""]


# -- /sources and removing ------------------------------------------------------------------


def _health(t: Translator, follow: Follow, zone: ZoneInfo) -> str:
    source = follow.source
    error = plain_reason(t, source.last_error or "?")
    if source.paused:
        return t.gettext("paused after failing: {error}").format(error=error)
    if source.last_error:
        return t.gettext("last fetch failed: {error}").format(error=error)
    if source.last_success_at:
        when = format_local(source.last_success_at, zone.key, t)
        return t.gettext("fetched {when}").format(when=when)
    return t.gettext("not fetched yet")


def _listed_source(
    t: Translator, index: int, follow: Follow, health: str, cuts: tuple[int, int, int]
) -> str:
    """One numbered source of /sources, in HTML: title, URL, keyword filter and health."""
    source = follow.source
    title_chars, url_chars, detail_chars = cuts
    line = f"{index}. <b>{escape(_short(source.title, title_chars))}</b>"
    if url_chars and " ".join(source.title.split()) != source.url:  # untitled: its URL
        line += f" — {escape(_short(source.url, url_chars))}"
    if follow.keywords:
        only = t.gettext("only: {keywords}").format(keywords=follow.keywords)
        line += "\n   " + escape(_short(only, detail_chars))
    return line + "\n   " + escape(_short(health, detail_chars))


def _listing(t: Translator, heading: str, entries: Sequence[str]) -> str:
    footer = escape(t.gettext("/export sends them as an OPML file."))
    return "\n".join([f"<b>{escape(heading)}</b>", *entries, footer])


def _fitted_listing(
    t: Translator, heading: str, follows: Sequence[Follow], healths: Sequence[str]
) -> tuple[str, int]:
    """The /sources text and how many sources it shows: whole if that fits one message, else
    cut as little as it takes (see LISTING_CUTS)."""
    for cuts in LISTING_CUTS:
        entries = [
            _listed_source(t, index, follow, health, cuts)
            for index, (follow, health) in enumerate(zip(follows, healths, strict=True), 1)
        ]
        text = _listing(t, heading, entries)
        if fits_message(text):
            return text, len(entries)
    while entries:  # max_per_chat may allow more sources than any cut fits: the first ones
        entries.pop()
        more = escape(t.gettext("… and {count} more")).format(count=len(follows) - len(entries))
        text = _listing(t, heading, [*entries, more])
        if fits_message(text):
            break
    return text, len(entries)


def sources_view(
    services: Services, chat: ChatSettings, t: Translator, follows: Sequence[Follow]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The chat's own sources with their health (on the chat's clock) and remove buttons."""
    chat_id, zone = chat.chat_id, ZoneInfo(chat.timezone)
    if not follows:
        return escape(
            t.gettext(
                "This chat has no sources of its own. Send /add and a web address to follow one."
            )
        ), None
    heading = (
        t.gettext("Your sources")
        if chat.chat_type == "private"
        else t.gettext("This group's sources")
    )
    healths = [_health(t, follow, zone) for follow in follows]
    text, shown = _fitted_listing(t, heading, follows, healths)
    buttons = []
    for index, follow in enumerate(follows[:shown], start=1):
        data = callbacks.encode(REMOVE, chat_id, str(follow.source.id), key=services.callback_key)
        label = t.gettext("Remove {number}").format(number=index)
        buttons.append(InlineKeyboardButton(f"✖ {label}", callback_data=data))
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    return text, InlineKeyboardMarkup(rows)


async def sources_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    prepared = await _prepare(update, context)
    if prepared is None:
        return
    services, chat, t = prepared
    follows = await user_source_services(context).store.follows_of_chat(chat.chat_id)
    text, keyboard = sources_view(services, chat, t, follows)
    await reply(update, text, keyboard=keyboard)


async def remove_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    services = services_of(context)
    stored_chat = await ensure_chat(update, services)
    t = translator(services, update, stored_chat)
    if not await may_change_chat(update, context):
        return
    sources = user_source_services(context)
    source_id = int(button.args[0]) if button.args and button.args[0].isdigit() else -1
    removed = await sources.store.unfollow(chat.id, source_id)
    await query.answer(
        t.gettext("Removed {title}.").format(title=removed.title)
        if removed
        else t.gettext("That source was already removed.")
    )
    follows = await sources.store.follows_of_chat(chat.id)
    text, keyboard = sources_view(services, stored_chat, t, follows)
    await edit_in_place(update, text, keyboard)


# -- OPML ---------------------------------------------------------------------------------------


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    prepared = await _prepare(update, context)
    if prepared is None:
        return
    _services, chat, t = prepared
    follows = await user_source_services(context).store.follows_of_chat(chat.chat_id)
    if not follows:
        await reply(update, escape(t.gettext("There is nothing to export: /add a source first.")))
        return
    feeds = [OpmlFeed(follow.source.url, follow.source.title) for follow in follows]
    document = write_opml(feeds, t.gettext("Sources of this chat"))
    await context.bot.send_document(
        chat.chat_id,
        InputFile(document, filename="sources.opml"),
        caption=t.ngettext(
            "{count} source, for any feed reader.",
            "{count} sources, for any feed reader.",
            len(feeds),
        ).format(count=len(feeds)),
    )


async def opml_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An .opml file sent to the bot: follow every feed in it, and say how each one went."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    prepared = await _prepare(update, context)
    if prepared is None:
        return
    _services, chat, t = prepared
    if not await may_change_chat(update, context):
        return
    if (message.document.file_size or 0) > 1024 * 1024:
        await reply(update, escape(t.gettext("That file is too large for a list of feeds.")))
        return
    data = bytes(await (await message.document.get_file()).download_as_bytearray())
    try:
        feeds = parse_opml(data)
    except OpmlError as error:
        await reply(
            update,
            escape(
                t.gettext("Cannot read that OPML file: {reason}").format(
                    reason=translate_reason(t, str(error))
                )
            ),
        )
        return
    await reply(update, await import_feeds(update, context, chat, t, feeds))


async def other_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file that is not OPML, sent in a private chat: say what files the bot reads."""
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    await reply(
        update,
        escape(
            t.gettext(
                "I can read .opml files (lists of feeds from a feed reader). To follow one "
                "site, send /add and its address."
            )
        ),
    )


async def import_feeds(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    chat: ChatSettings,
    t: Translator,
    feeds: Sequence[OpmlFeed],
) -> str:
    sources = user_source_services(context)
    followed = {follow.source.url for follow in await sources.store.follows_of_chat(chat.chat_id)}
    added, already, failed = [], [], []
    for feed in feeds[:MAX_OPML_FEEDS_PER_FILE]:
        if feed.url in followed:
            already.append(feed.title or feed.url)
            continue
        outcome = await add_source(update, context, chat, t, feed.url)
        if outcome.followed:
            added.append(feed.title or feed.url)
        else:
            name = escape(_short(feed.title or feed.url, SHOWN_TITLE_CHARS))
            failed.append(f"{name}: {_first_line(outcome.text)}")
    skipped = len(feeds) - min(len(feeds), MAX_OPML_FEEDS_PER_FILE)
    return _import_report(t, added, already, failed, skipped)


def _first_line(html_text: str) -> str:
    return html_text.split("\n", 1)[0]


def _bulleted(t: Translator, items: list[str]) -> list[str]:
    """At most SHOWN_NAMES_PER_LIST lines, then how many more (the report must fit a message)."""
    shown = [f"• {item}" for item in items[:SHOWN_NAMES_PER_LIST]]
    if len(items) > SHOWN_NAMES_PER_LIST:
        more = len(items) - SHOWN_NAMES_PER_LIST
        shown.append(escape(t.gettext("… and {count} more")).format(count=more))
    return shown


def _import_report(
    t: Translator, added: list[str], already: list[str], failed: list[str], skipped: int
) -> str:
    lines = [
        escape(t.gettext("Added: {count}")).format(count=len(added)),
        *_bulleted(t, [escape(_short(name, SHOWN_TITLE_CHARS)) for name in added]),
        escape(t.gettext("Already followed: {count}")).format(count=len(already)),
        *_bulleted(t, [escape(_short(name, SHOWN_TITLE_CHARS)) for name in already]),
        escape(t.gettext("Failed: {count}")).format(count=len(failed)),
        *_bulleted(t, failed),  # each is HTML already, shortened where it was made
    ]
    if skipped:
        lines.append(
            escape(t.gettext("Left out {count} feeds over the limit of one file.")).format(
                count=skipped
            )
        )
    return "\n".join(lines)


# -- for operators ------------------------------------------------------------------------------


async def user_sources_stats(context: ContextTypes.DEFAULT_TYPE, t: Translator) -> str:
    """The /stats section on user sources: how many, how many follows, which fail (HTML)."""
    sources = user_source_services(context)
    heading = "<b>" + escape(t.gettext("User sources")) + "</b>"
    if not sources.settings.enabled:
        return heading + ": " + escape(t.gettext("turned off"))
    count, follows, failing = await sources.store.counts()
    figures = t.gettext("{count}, followed {follows} times; {failing} failing").format(
        count=count, follows=follows, failing=len(failing)
    )
    lines = [heading + ": " + escape(figures)]
    for source in failing:
        since = source.failing_since.strftime("%Y-%m-%d %H:%M UTC") if source.failing_since else ""
        state = (
            t.gettext("paused since {since}: {error}")
            if source.paused
            else t.gettext("failing since {since}: {error}")
        ).format(since=since, error=translate_reason(t, (source.last_error or "")[:200]))
        lines.append(f"• {escape(source.url)} — <i>{escape(state)}</i>")
    return "\n".join(lines)


# -- a bare URL in a private chat -------------------------------------------------------------


async def bare_url(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message that is just a web address: offer to follow it (the address stays in the
    message, so the button needs no state)."""
    message = update.effective_message
    services = services_of(context)
    if message is None or message.text is None or not services.settings.bot.user_sources.enabled:
        return
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    url = message.text.strip()
    data = callbacks.encode(ADD, chat.chat_id, key=services.callback_key)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(t.gettext("➕ Add"), callback_data=data)]]
    )
    await reply(
        update,
        escape(t.gettext("Follow this address as a source?\n{url}")).format(url=escape(url)),
        keyboard=keyboard,
    )


async def add_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    chat = await ensure_chat(update, services)
    t = translator(services, update, chat)
    text = query.message.text if query.message and hasattr(query.message, "text") else None
    url = (text or "").strip().splitlines()[-1] if text else ""
    await query.answer()
    outcome = await add_source(update, context, chat, t, url)
    await edit_in_place(update, outcome.text)


URL_ONLY = filters.Regex(r"^\s*https?://\S+\s*$")

HANDLERS = [
    CommandHandler("add", add_command),
    CommandHandler("sources", sources_command),
    CommandHandler("export", export_command),
    MessageHandler(filters.Document.FileExtension("opml"), opml_document),
    MessageHandler(filters.ChatType.PRIVATE & filters.Document.ALL, other_document),
    MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & URL_ONLY, bare_url),
]
BUTTONS = {REMOVE: remove_button, ADD: add_button}
