"""Searching stored articles: /search words, plain text in private chats, and "more" paging."""

from __future__ import annotations

import asyncio
import math
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from bot import callbacks
from bot.handlers.common import (
    argument_text,
    chat_translator,
    is_private,
    reply,
    reply_usage,
    services_of,
)
from bot.i18n import N_, Translator, join_sentences
from bot.parsing import Phrase, UsageError, check_argument_text
from bot.render import DigestEntry, escape, render_search_results, truncate_text
from bot.selection import source_name
from bot.services import Services
from bot.store import SavedSearch
from summaries.language import has_han
from summaries.matching import KeywordQuery, QueryError, stem
from summaries.search_text import highlight_stems, query_terms

MORE = "more"
MAX_ECHO_CHARS = 60
SEARCH_EXAMPLE = N_('For example: /search quantum network, or /search "satellite internet".')
# Results kept for paging: 20 pages of 5 is more than anyone reads.
MAX_RESULTS = 100
# Only this many of the newest matching articles are ranked, so a common word stays fast.
RANKED_CANDIDATES = 1000
# Saved searches live in the database (any replica can serve "More"), a few per chat, a day.
REMEMBERED_SEARCHES = 20
SEARCH_LIFETIME = timedelta(days=1)


async def search_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not context.args:
        t = await chat_translator(update, services_of(context))
        text = join_sentences([t.gettext("What should I look for?"), t.gettext(SEARCH_EXAMPLE)], t)
        await reply(update, escape(text))
        return
    await run_search(update, context, argument_text(context))


async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await run_search(update, context, message.text)


async def run_search(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    services = services_of(context)
    t = await chat_translator(update, services)
    user = update.effective_user
    wait = services.search_throttle.try_acquire(user.id if user else 0)
    if wait > 0:
        text = t.gettext("That's a lot of searches. Please wait {seconds} s and try again.")
        await reply(update, escape(text.format(seconds=math.ceil(wait))))
        return
    try:
        words = check_argument_text(
            text, what=N_("search words"), example="/search quantum network"
        )
        query = parse_query(words)
    except UsageError as error:
        await reply_usage(update, t, error)
        return
    # Segmenting Chinese is CPU work (and loads jieba's dictionary the first time).
    terms = await asyncio.to_thread(query_terms, query)
    hits = await services.store.search_articles(
        terms, limit=MAX_RESULTS, candidates=RANKED_CANDIDATES
    )
    if not hits:
        text = (
            t.gettext(
                "No stored article mentions “{words}”. Try fewer or other words; "
                "/subscribe {words} brings new articles about it in your digests, "
                "and /help lists everything I can do."
            )
            if is_private(update)
            else t.gettext(
                "No stored article mentions “{words}”. Try fewer or other words; "
                "/subscribe {words} brings new articles about it in this group's digests, "
                "and /help lists everything I can do."
            )
        )
        shown = truncate_text(" ".join(query.text.split()), MAX_ECHO_CHARS)
        await reply(update, escape(text.format(words=shown)))
        return
    chat = update.effective_chat
    assert chat is not None
    now = services.clock()
    saved = SavedSearch(
        secrets.token_urlsafe(6),
        query.text,
        tuple(hit.article_id for hit in hits),
        now + SEARCH_LIFETIME,
    )
    await services.store.save_search(chat.id, saved, now, REMEMBERED_SEARCHES)
    text, keyboard = await search_page(services, chat.id, saved, 0, t)
    await reply(update, text, keyboard=keyboard)


def parse_query(words: str) -> KeywordQuery:
    try:
        return KeywordQuery.parse(words)
    except QueryError as error:
        raise UsageError(
            N_("Cannot search for that: {reason}. {example}"),
            reason=Phrase(str(error)),
            example=Phrase(SEARCH_EXAMPLE),
        ) from None


async def search_page(
    services: Services, chat_id: int, saved: SavedSearch, page: int, t: Translator
) -> tuple[str, InlineKeyboardMarkup | None]:
    size = services.settings.bot.search_page_size
    page_ids = saved.article_ids[page * size : (page + 1) * size]
    stored = {item.article.id: item for item in await services.store.get_articles(page_ids)}
    specs = services.settings.app.sources
    entries = [
        DigestEntry(
            stored[i].article,
            stored[i].digest,
            source_name=source_name(stored[i].article.source, specs),
        )
        for i in page_ids
        if i in stored
    ]
    query = KeywordQuery.parse(saved.query)
    wanted = highlight_stems(query)
    # Chinese has no spaces between words: its terms are bolded wherever they occur.
    phrases = [word for words in query.terms for word in words if has_han(word)]
    chat = await services.store.get_chat(chat_id)
    zone = ZoneInfo(chat.timezone if chat else services.settings.bot.defaults.timezone)
    text = render_search_results(
        entries,
        saved.query,
        page=page + 1,
        total=len(saved.article_ids),
        page_size=size,
        is_match=lambda word: stem(word) in wanted,
        tz=zone,
        t=t,
        phrases=phrases,
    )
    keyboard = None
    if (page + 1) * size < len(saved.article_ids):
        data = callbacks.encode(
            MORE, chat_id, saved.search_id, str(page + 1), key=services.callback_key
        )
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t.gettext("More results ▸"), callback_data=data)]]
        )
    return text, keyboard


async def more_results(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    services = services_of(context)
    t = await chat_translator(update, services)
    search_id, page_text = (button.args + ("", ""))[:2]
    saved = None
    if page_text.isdigit():
        saved = await services.store.get_saved_search(chat.id, search_id, services.clock())
    if saved is None:
        await query.answer(t.gettext("This search has expired. Send it again."))
        return
    await query.answer()
    text, keyboard = await search_page(services, chat.id, saved, int(page_text), t)
    # A new message keeps earlier results readable; the old button is removed.
    await query.edit_message_reply_markup(None)
    await reply(update, text, keyboard=keyboard)


HANDLERS = [
    CommandHandler("search", search_command),
    MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, plain_text),
]
BUTTONS = {MORE: more_results}
