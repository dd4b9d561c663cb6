"""Searching stored articles: /search words, plain text in private chats, and "more" paging."""

from __future__ import annotations

import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from bot import callbacks
from bot.handlers.common import (
    argument_text,
    chat_translator,
    reply,
    reply_usage,
    services_of,
)
from bot.i18n import N_
from bot.parsing import Phrase, UsageError, check_argument_text
from bot.render import DigestEntry, render_search_results
from bot.services import Services
from summaries.matching import KeywordQuery, QueryError, stem

MORE = "more"
REMEMBERED_SEARCHES = 20
SEARCH_EXAMPLE = N_('For example: /search quantum network, or /search "satellite internet".')


@dataclass(frozen=True)
class SavedSearch:
    query: KeywordQuery
    article_ids: tuple[str, ...]


def saved_searches(context: ContextTypes.DEFAULT_TYPE) -> OrderedDict[str, SavedSearch]:
    chat_data = context.chat_data
    assert chat_data is not None
    return chat_data.setdefault("searches", OrderedDict())


async def search_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not context.args:
        await reply(update, "What should I look for? " + escape(SEARCH_EXAMPLE))
        return
    await run_search(update, context, argument_text(context))


async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await run_search(update, context, message.text)


async def run_search(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    services = services_of(context)
    user = update.effective_user
    wait = services.search_throttle.try_acquire(user.id if user else 0)
    if wait > 0:
        await reply(
            update, f"That's a lot of searches. Please wait {math.ceil(wait)} s and try again."
        )
        return
    try:
        words = check_argument_text(
            text, what=N_("search words"), example="/search quantum network"
        )
        query = parse_query(words)
    except UsageError as error:
        await reply_usage(update, await chat_translator(update, services), error)
        return
    hits = services.search_index.search(query)
    if not hits:
        await reply(
            update, f"No stored article mentions {escape(query.text)}. Try fewer or other words."
        )
        return
    search_id = secrets.token_urlsafe(6)
    searches = saved_searches(context)
    searches[search_id] = SavedSearch(query, tuple(hit.article_id for hit in hits))
    while len(searches) > REMEMBERED_SEARCHES:
        searches.popitem(last=False)
    chat = update.effective_chat
    assert chat is not None
    text, keyboard = await search_page(services, chat.id, search_id, searches[search_id], 0)
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
    services: Services, chat_id: int, search_id: str, saved: SavedSearch, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    size = services.settings.bot.search_page_size
    page_ids = saved.article_ids[page * size : (page + 1) * size]
    stored = {item.article.id: item for item in await services.store.get_articles(page_ids)}
    entries = [DigestEntry(stored[i].article, stored[i].digest) for i in page_ids if i in stored]
    wanted = saved.query.stems
    text = render_search_results(
        entries,
        saved.query.text,
        page=page + 1,
        total=len(saved.article_ids),
        page_size=size,
        is_match=lambda word: stem(word) in wanted,
    )
    keyboard = None
    if (page + 1) * size < len(saved.article_ids):
        data = callbacks.encode(MORE, chat_id, search_id, str(page + 1), key=services.callback_key)
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("More results ▸", callback_data=data)]]
        )
    return text, keyboard


async def more_results(
    update: Update, context: ContextTypes.DEFAULT_TYPE, button: callbacks.Callback
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    services = services_of(context)
    search_id, page_text = (button.args + ("", ""))[:2]
    saved = saved_searches(context).get(search_id)
    if saved is None or not page_text.isdigit():
        await query.answer("This search has expired. Send it again.")
        return
    await query.answer()
    text, keyboard = await search_page(services, chat.id, search_id, saved, int(page_text))
    # A new message keeps earlier results readable; the old button is removed.
    await query.edit_message_reply_markup(None)
    await reply(update, text, keyboard=keyboard)


HANDLERS = [
    CommandHandler("search", search_command),
    MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, plain_text),
]
BUTTONS = {MORE: more_results}
