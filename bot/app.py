"""Builds the python-telegram-bot Application: handlers, jobs, services and the error handler.

This is the one place the bot is put together; `run_bot.py` and the tests both call
`build_application`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from telegram import BotCommand, BotCommandScopeAllGroupChats, Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    JobQueue,
    MessageHandler,
    filters,
)

from bot import callbacks
from bot.commands import menu, topic_commands
from bot.config import BotSettings, Settings
from bot.delivery import LOCAL_OWNER, OutboxSender
from bot.fairness import FairApplication, FairUpdateProcessor
from bot.handlers import admin, digests, language, search, sources, start, subscriptions
from bot.handlers import settings as settings_handlers
from bot.handlers.common import reply, user_language_code
from bot.heap import settle_heap
from bot.i18n import DEFAULT_LANGUAGE, N_
from bot.ingest import poll_due_sources, store_new_articles
from bot.lean_request import LeanRequest
from bot.ranked import RankedExecutor
from bot.ratelimit import BULK, PacingRateLimiter, TelegramRateLimiter, configured_limits
from bot.replicas import Coordinator
from bot.rerank import rerank_in_background
from bot.retention import prune_store
from bot.rounds import digest_round
from bot.services import SERVICES_KEY, Services, callback_key, get_services
from bot.store import AsyncStore, Store, StoreUnavailable
from bot.store.user_sources import AsyncUserSourceStore, UserSource
from bot.usersources.poll import UserSourcePoller, pause_notice
from summaries.matching import TopicMatcher
from summaries.models import Article
from summaries.sources import USER_AGENT
from summaries.sources.guard import GuardedTransport, UrlPolicy

logger = logging.getLogger(__name__)

BUTTONS = (
    subscriptions.BUTTONS
    | search.BUTTONS
    | settings_handlers.BUTTONS
    | language.BUTTONS
    | sources.BUTTONS
)
DESCRIPTION = N_(
    "Regional news, condensed: follow topics or keywords and get a short bullet-point digest "
    "of the new articles at the time you choose."
)


def utc_now() -> datetime:
    return datetime.now(UTC)


CATCH_UP_ROUND_SECONDS = 5.0


@dataclass(frozen=True)
class Timing:
    """How often the background jobs run; tests shorten these and drive the clock."""

    round_seconds: float = 60.0
    poll_seconds: float = 60.0
    # None: rounds start at the top of each minute, so a digest due at 08:00 goes at 08:00.
    first_round_seconds: float | None = None
    first_poll_seconds: float = 1.0
    first_retention_seconds: float = 120.0
    clock: Callable[[], datetime] = utc_now


def build_application(
    settings: Settings, token: str, *, timing: Timing | None = None
) -> Application:
    timing = timing or Timing()
    bot_settings = settings.bot
    builder = (
        ApplicationBuilder()
        .token(token)
        .concurrent_updates(FairUpdateProcessor())
        .application_class(DigestApplication)
        .rate_limiter(_rate_limiter(bot_settings, token))
        # Every Bot API call but getUpdates' long poll (PTB's own there): a fraction of the
        # CPU of PTB's httpx request per call (see bot.lean_request).
        .request(LeanRequest(connection_pool_size=256))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if bot_settings.base_url:
        base = bot_settings.base_url  # ends in "/bot" (see bot.config.bot_api_base_url)
        file_base = base.removesuffix("/bot") + "/file/bot"
        builder = builder.base_url(base).base_file_url(file_base)
    application = builder.build()
    processor = application.update_processor
    assert isinstance(processor, FairUpdateProcessor)
    processor.notify = functools.partial(_slow_down, application)
    limiter = application.bot.rate_limiter
    if isinstance(limiter, PacingRateLimiter):
        limiter.chat_load = processor.busy  # replies to the least busy chats go first
    application.bot_data["settings"] = settings
    application.bot_data["timing"] = timing
    commands = topic_commands(settings.app.topics)
    # sources before search: a bare URL in a private chat is an offer to follow, not a search.
    for module in (
        start,
        subscriptions,
        digests,
        sources,
        search,
        settings_handlers,
        language,
        admin,
    ):
        application.add_handlers(module.HANDLERS)
    application.add_handlers(digests.topic_handlers(commands))
    # Last in its group: only a command that no handler above took is unknown.
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, start.unknown_command)
    )
    application.add_handler(CallbackQueryHandler(dispatch_button))
    application.add_error_handler(error_handler)
    return application


def _rate_limiter(settings: BotSettings, token: str) -> PacingRateLimiter:
    """The limiter every request goes through; shared with the other replicas via Redis."""
    if not settings.redis_url:
        return TelegramRateLimiter(
            messages_per_second=settings.send_rate,
            group_messages_per_minute=settings.group_messages_per_minute,
        )
    from redis.asyncio import Redis

    from bot.shared_limit import SharedBudget, SharedRateLimiter, key_prefix

    limits = configured_limits(settings.send_rate, settings.group_messages_per_minute)
    client = Redis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
    budget = SharedBudget(client, key_prefix(token, settings.redis_prefix), limits)
    replicas = _ReplicaCount()
    limiter = SharedRateLimiter(limits, budget, replicas=replicas)
    replicas.limiter = limiter
    return limiter


class _ReplicaCount:
    """How many replicas share the budget (for the equal share when Redis is down)."""

    limiter: PacingRateLimiter | None = None
    coordinator: Coordinator | None = None

    def __call__(self) -> int:
        return self.coordinator.live if self.coordinator is not None else 1


async def _start_coordinator(
    application: Application, services: Services, settings: Settings, timing: Timing
) -> Coordinator | None:
    """On PostgreSQL the bot may run as several replicas: elect a leader, beat a heart."""
    if services.store.store.dialect != "postgresql":
        return None
    coordinator = Coordinator(
        settings.bot.database_url,
        services.store,
        mode=application.bot_data.get("mode", "polling"),
        takeover_seconds=settings.bot.takeover_seconds,
        clock=timing.clock,
    )
    await coordinator.start()
    counter = getattr(application.bot.rate_limiter, "_replicas", None)
    if isinstance(counter, _ReplicaCount):
        counter.coordinator = coordinator
    return coordinator


def leads(services: Services) -> bool:
    """Whether this replica runs the jobs: the leader, or the bot alone."""
    return services.replicas is None or services.replicas.is_leader


async def _post_init(application: Application) -> None:
    settings: Settings = application.bot_data["settings"]
    timing: Timing = application.bot_data["timing"]
    # Handlers' CPU work (asyncio.to_thread) in order of how busy their chat is (bot.ranked).
    asyncio.get_running_loop().set_default_executor(RankedExecutor(thread_name_prefix="work"))
    store = Store.from_url(settings.bot.database_url)
    await asyncio.to_thread(store.migrate)
    async_store = AsyncStore(store)
    services = Services(
        settings=settings,
        store=async_store,
        http=httpx.AsyncClient(
            timeout=httpx.Timeout(20.0, connect=10.0),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        ),
        sender=None,
        callback_key=callback_key(application.bot.token),
        topic_commands=topic_commands(settings.app.topics),
        matcher=TopicMatcher(settings.app.topics),
        clock=timing.clock,
    )
    application.bot_data[SERVICES_KEY] = services
    _log_start(application, settings)
    await _publish_commands(application, services)
    services.replicas = await _start_coordinator(application, services, settings, timing)
    sender = services.sender = OutboxSender(
        application.bot,
        async_store,
        clock=timing.clock,
        owner=services.replicas.replica_id if services.replicas else LOCAL_OWNER,
        lease_seconds=settings.bot.takeover_seconds,
        paid_broadcast=settings.bot.paid_broadcast,
    )
    services.background.append(
        asyncio.create_task(
            sender.run_forever(services.wake_delivery, services.stop_delivery),
            name="outbox-sender",
        )
    )
    services.background.append(
        asyncio.create_task(rerank_in_background(services), name="rerank-articles")
    )
    job_queue = application.job_queue
    assert job_queue is not None, "install python-telegram-bot[job-queue]"
    setup_user_sources(application, services)
    for callback, interval, first, name in (
        (poll_sources_job, timing.poll_seconds, timing.first_poll_seconds, "poll-sources"),
        (
            poll_user_sources_job,
            timing.poll_seconds,
            timing.first_poll_seconds,
            "poll-user-sources",
        ),
        (
            retention_job,
            services.settings.bot.retention.every_hours * 3600,
            timing.first_retention_seconds,
            "retention",
        ),
    ):
        repeat(job_queue, callback, interval, first, name)
    schedule_rounds(job_queue, timing)
    if application.bot_data.get("settle_heap"):
        # Start-up is done: keep full collections from stalling paced sends (bot.heap).
        settle_heap()


def schedule_rounds(job_queue: JobQueue[ContextTypes.DEFAULT_TYPE], timing: Timing) -> None:
    """Rounds at the top of every minute, so a digest due at 08:00 goes out at 08:00, and one
    catch-up round soon after start for digests missed while the bot was down. An explicit
    `first_round_seconds` (tests) runs them from then on every `round_seconds` instead."""
    if timing.first_round_seconds is not None:
        repeat(
            job_queue,
            digest_round_job,
            timing.round_seconds,
            timing.first_round_seconds,
            "digest-round",
        )
        return
    job_queue.run_once(
        digest_round_job,
        CATCH_UP_ROUND_SECONDS,
        name="digest-round-first",
        job_kwargs=_LATE_BUT_ONCE,
    )
    job_queue.run_repeating(
        digest_round_job,
        timing.round_seconds,
        first=next_minute(utc_now()),
        name="digest-round",
        job_kwargs=_LATE_BUT_ONCE,
    )


# A run that starts late (a busy loop, a slow machine) still runs, once: APScheduler's default
# one-second grace would silently skip it until the next interval.
_LATE_BUT_ONCE: dict[str, object] = {"misfire_grace_time": None, "coalesce": True}


def repeat(
    job_queue: JobQueue[ContextTypes.DEFAULT_TYPE],
    callback: Callable[[ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]],
    interval: float,
    first: float,
    name: str,
) -> None:
    """Run ``callback`` after ``first`` seconds, then every ``interval`` seconds.

    Jobs are added in post_init, before the scheduler starts; an interval trigger whose first
    time has passed by then skips to the next interval (an hour's wait for a slow start), so
    the first run is a date trigger, which fires however late the scheduler starts.
    """
    job_queue.run_once(callback, first, name=f"{name}-first", job_kwargs=_LATE_BUT_ONCE)
    job_queue.run_repeating(
        callback, interval, first=first + interval, name=name, job_kwargs=_LATE_BUT_ONCE
    )


def setup_user_sources(application: Application, services: Services) -> None:
    """The guarded client, store and poller for sources that chats add themselves."""
    settings = services.settings.bot.user_sources
    client = httpx.AsyncClient(
        transport=GuardedTransport(UrlPolicy.allowing(settings.allowed_hosts)),
        timeout=httpx.Timeout(20.0, connect=10.0),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        max_redirects=5,
    )
    store = AsyncUserSourceStore(services.store)
    bot = application.bot

    async def store_articles(articles: Sequence[Article], now: datetime) -> int:
        return await store_new_articles(services, articles, now)

    async def notify(chat_ids: Sequence[int], source: UserSource) -> None:
        for chat_id in chat_ids:
            chat = await services.store.get_chat(chat_id)
            t = services.catalogs.get(chat.language if chat else None)
            text = pause_notice(source, settings, t)
            try:
                await bot.send_message(chat_id, text, rate_limit_args=BULK)
            except TelegramError as error:
                logger.warning("could not tell chat %s about a paused source: %s", chat_id, error)

    poller = UserSourcePoller(store, client, settings, store_articles, notify)
    application.bot_data[sources.USER_SOURCES_KEY] = sources.UserSourceServices(
        settings, store, client, poller
    )


def _log_start(application: Application, settings: Settings) -> None:
    """Says who is starting, with what: the operator's first check when something is off."""
    sources = ", ".join(f"{spec.name} ({spec.location})" for spec in settings.app.sources)
    logger.info(
        "starting @%s; config %s; database %s; sources: %s",
        application.bot.username,
        settings.app.path,
        public_database_url(settings.bot.database_url),
        sources or "none",
    )


def public_database_url(url: str) -> str:
    """The database URL without its password, fit for a log line."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unparsable URL)"


class DigestApplication(FairApplication):
    """Stopping also ends a digest round between batches and the source polls: PTB waits for
    running jobs, and a round of many chats or a slow source must not hold up a SIGTERM."""

    async def stop(self) -> None:
        services: Services | None = self.bot_data.get(SERVICES_KEY)
        if services is not None:
            services.stopping.set()
            await stop_polls(services)
        await super().stop()


async def stop_polls(services: Services, wait: float = 10.0) -> None:
    """Cancel the source polls in progress (each is retried at the next start) and wait for
    them to end, so none is left pending when the loop closes. A poll waiting on a thread is
    not held up by it: the thread's chunk finishes on its own."""
    polls = list(services.polling.values())
    for poll in polls:
        poll.cancel()
    if polls:
        _, pending = await asyncio.wait(polls, timeout=wait)
        for poll in pending:
            logger.warning("poll %s did not stop within %g s", poll.get_name(), wait)


def next_minute(now: datetime) -> datetime:
    """The next top of a minute strictly after `now`."""
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


SLOW_DOWN = N_(
    "You are sending messages faster than I can answer, so I skipped some. "
    "Please wait for my answer before sending more."
)


async def _slow_down(application: Application, update: Update) -> None:
    """Told once per burst to a chat whose excess updates were shed (bot/fairness.py)."""
    services: Services | None = application.bot_data.get(SERVICES_KEY)
    chat = update.effective_chat
    if services is None or chat is None:
        return
    t = services.catalogs.pick(None, user_language_code(update))
    await application.bot.send_message(chat.id, t.gettext(SLOW_DOWN))


async def _publish_commands(application: Application, services: Services) -> None:
    """The command menu (for private chats, and as groups read it) and description in every
    language (English for all the others).

    They are nice to have: a refusal must not stop the bot.
    """
    bot = application.bot
    for code in services.catalogs.languages:
        t = services.catalogs.get(code)
        # No language_code: the fallback for every language without its own menu.
        language_code = None if code == DEFAULT_LANGUAGE else code
        commands = [BotCommand(name, text) for name, text in menu(services.topics, t)]
        group_commands = [
            BotCommand(name, text) for name, text in menu(services.topics, t, group=True)
        ]
        for call, what in (
            (bot.set_my_commands(commands, language_code=language_code), "command menu"),
            (
                bot.set_my_commands(
                    group_commands,
                    scope=BotCommandScopeAllGroupChats(),
                    language_code=language_code,
                ),
                "group command menu",
            ),
            (
                bot.set_my_description(t.gettext(DESCRIPTION), language_code=language_code),
                "description",
            ),
        ):
            try:
                await call
            except TelegramError as error:
                logger.warning(
                    "could not publish the %s in %s (%s); going on without it", what, code, error
                )


async def _post_stop(application: Application) -> None:
    services: Services | None = application.bot_data.get(SERVICES_KEY)
    if services is None:
        return
    services.stop_delivery.set()
    services.wake_delivery.set()
    # In-flight sends finish and are recorded; what was not sent stays pending for next time.
    done, pending = await asyncio.wait(services.background, timeout=30)
    for task in pending:
        task.cancel()
    for task in done:
        if not task.cancelled() and task.exception():
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())
    if services.replicas is not None:
        await services.replicas.stop()


async def _post_shutdown(application: Application) -> None:
    services: Services | None = application.bot_data.get(SERVICES_KEY)
    if services is None:
        return
    await services.http.aclose()
    user_sources = application.bot_data.get(sources.USER_SOURCES_KEY)
    if user_sources is not None:
        await user_sources.client.aclose()
    await services.store.close()
    services.ingest.shutdown()


async def poll_sources_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Starts the due sources' polls and returns: each runs (and times out) on its own."""
    services = get_services(context)
    if not leads(services):
        return  # the leader polls the sources

    async def round_now() -> None:
        await digest_round(services, services.clock())

    await poll_due_sources(services, services.clock(), on_added=round_now)


async def retention_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    if not leads(services):
        return  # one replica prunes
    await prune_store(services.store, services.settings.bot.retention, services.clock())


async def poll_user_sources_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    if not services.settings.bot.user_sources.enabled or not leads(services):
        return  # off, or another replica leads and polls
    report = await sources.user_source_services(context).poller.poll_due(services.clock())
    if report.added:
        await digest_round(services, services.clock())


async def digest_round_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context)
    if not leads(services):
        return  # the leader runs the rounds; every replica sends
    await digest_round(services, services.clock())


async def dispatch_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every inline button: checks the signed data, then hands it to its feature's handler."""
    query, chat = update.callback_query, update.effective_chat
    if query is None:
        return
    services = get_services(context)
    try:
        button = callbacks.decode(
            query.data or "", chat_id=chat.id if chat else 0, key=services.callback_key
        )
        handler = BUTTONS[button.action]
    except (callbacks.InvalidCallback, KeyError):
        logger.info("refused button data in chat %s", chat.id if chat else None)
        t = services.catalogs.pick(None, user_language_code(update))
        await query.answer(t.gettext("This button is not valid here any more."))
        return
    await handler(update, context, button)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs the failure and tells the user in plain words; never shows exception text."""
    error = context.error
    if update is None and isinstance(error, NetworkError):
        # Polling hiccups (a dropped connection, a 5xx from Telegram): PTB retries by itself.
        logger.warning("Telegram did not answer a poll (%s); retrying", error)
        return
    if isinstance(error, Forbidden) and isinstance(update, Update) and update.effective_chat:
        # Blocked or removed: the chat's deactivated quietly; no traceback, no second message.
        chat_id = update.effective_chat.id
        logger.info("chat %s refused a reply (%s): deactivated", chat_id, error.message)
        await get_services(context).store.deactivate_chat(chat_id, f"403 {error.message}")
        return
    if isinstance(error, RetryAfter):
        # Telegram's flood control outlasted the reply's one wait: an apology would be one more
        # message into the limited chat, so only the log hears of it.
        chat = update.effective_chat if isinstance(update, Update) else None
        logger.warning(
            "flood control: a reply to chat %s was dropped (%s)", chat.id if chat else None, error
        )
        return
    if isinstance(error, StoreUnavailable):
        logger.error("storage unavailable: %s", error)
        text = N_("My storage is unavailable for a moment. Please try again in a minute.")
    else:
        logger.error("error while handling an update", exc_info=error)
        text = N_("Sorry, something went wrong on my side. Please try again.")
    if isinstance(update, Update) and update.effective_message is not None:
        # The user's own language: the chat's stored one may be what failed to load.
        services: Services | None = context.bot_data.get(SERVICES_KEY)
        if services is not None:
            text = services.catalogs.pick(None, user_language_code(update)).gettext(text)
        with contextlib.suppress(TelegramError):
            await reply(update, text)
