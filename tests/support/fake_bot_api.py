"""A loopback fake of the Telegram Bot API, spoken over real HTTP, for end-to-end tests.

The real python-telegram-bot ``Bot``/``Application`` talks to it through ``base_url``::

    async with FakeBotApi() as fake:
        app = fake.application_builder().build()  # token, base_url and base_file_url set
        ...
        fake.private_command(user, "start")
        [reply] = await fake.wait_for_messages(user["id"])

It answers in the Bot API's JSON, validates HTML like Telegram, enforces the rate limits with
strict sliding windows (429 + retry_after, with the penalty window Telegram applies), and
injects faults: blocked chats, missing chats, migrated groups, dropped connections, slow
answers, one-shot 5xx. Updates reach the bot by long polling, or are pushed to a webhook when
its URL is on loopback. Tests drive users through an in-process API (``private_message``,
``command``, ``press_button``, ...) and read what the bot sent (``sent``, ``wait_for_messages``,
``stats``).

It runs in the test's event loop (``await fake.start()`` / ``async with``) or in a background
thread with its own loop (``fake.start_in_thread()`` / ``with fake:``) for benchmarks that drive
a bot in another process. State is guarded by a lock so the test API works from any thread.
``python -m tests.support.fake_bot_api --port 8081`` serves it by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import email.parser
import email.policy
import itertools
import json
import logging
import math
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import h11
import httpx
from telegram import Bot
from telegram.ext import ApplicationBuilder

from tests.support import updates as build
from tests.support.telegram_html import (
    MAX_MESSAGE_LENGTH,
    TelegramHTMLError,
    parse_telegram_html,
    utf16_length,
)

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
DEFAULT_TOKEN = "123456:TEST-token"
MAX_CALLBACK_DATA_BYTES = 64
# Update kinds Telegram sends when allowed_updates was never given (or given empty).
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
    }
)
CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_POLL_INTERVAL = 0.005  # seconds between checks in the wait_for_* helpers
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_WEBHOOK_TIMEOUT = 10.0
_WEBHOOK_FIRST_BACKOFF = 0.05
_WEBHOOK_MAX_BACKOFF = 2.0


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """One accepted edit of a message, with the content it set."""

    at: float  # time.monotonic() when accepted
    text: str
    parse_mode: str | None
    reply_markup: JSON | None


@dataclass
class SentMessage:
    """A message the fake accepted from the bot, with its edits applied and listed.

    The test API hands out snapshots; ``fake.message(chat_id, message_id)`` gives the latest.
    """

    chat_id: int
    message_id: int
    text: str  # as the bot sent it (HTML source when parse_mode is HTML)
    parse_mode: str | None
    reply_markup: JSON | None
    link_preview_disabled: bool
    at: float  # time.monotonic() when accepted
    plain_text: str = ""  # what the user sees
    entities: list[JSON] = field(default_factory=list)
    link_preview_options: JSON | None = None
    reply_to_message_id: int | None = None
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False
    document: tuple[str, bytes] | None = None  # (file name, content) of a sendDocument

    def buttons(self) -> list[JSON]:
        """The inline keyboard's buttons, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def callback_data(self) -> list[str]:
        return [button["callback_data"] for button in self.buttons() if "callback_data" in button]

    def snapshot(self) -> SentMessage:
        """A copy frozen at this instant: later edits do not change it."""
        return dataclasses.replace(self, entities=list(self.entities), edits=list(self.edits))


@dataclass(frozen=True)
class CallbackAnswer:
    """An answerCallbackQuery call."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    at: float


@dataclass(frozen=True)
class RateLimitEvent:
    """One 429 answer: which limit refused, for which chat, and the retry_after given."""

    at: float
    scope: str  # "global", "chat" or "group"
    chat_id: int
    retry_after: float


@dataclass
class Stats:
    """Counters of everything the fake saw. ``fake.stats`` returns a copy."""

    accepted: int = 0
    per_chat: Counter[int] = field(default_factory=Counter)
    duplicates: int = 0  # same chat + identical text accepted again
    edits: int = 0
    rate_limited_global: int = 0
    rate_limited_chat: int = 0  # per-chat 1/s limit and penalty windows
    rate_limited_group: int = 0  # per-group 20/min limit
    rate_limit_events: list[RateLimitEvent] = field(default_factory=list)
    forbidden: int = 0
    chat_not_found: int = 0
    migrated: int = 0
    dropped_before_recording: int = 0
    dropped_after_recording: int = 0
    injected_failures: int = 0
    bad_requests: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    connections: int = 0  # TCP connections accepted (keep-alive reuses one)

    @property
    def rate_limited(self) -> int:
        return self.rate_limited_global + self.rate_limited_chat + self.rate_limited_group

    @property
    def dropped(self) -> int:
        return self.dropped_before_recording + self.dropped_after_recording


# -- rate limits ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimits:
    """Telegram's flood limits; ``None`` switches one off.

    ``scale`` speeds time up for fast tests: every window and every retry_after is divided by
    it, so ``scale=10`` allows 300 messages/s overall and 10/s per chat, and answers
    ``retry_after`` in tenths of a second. At ``scale=1`` retry_after is whole seconds, as
    Telegram gives it. Only sendMessage counts.
    """

    global_per_second: int | None = 30
    per_chat_per_second: int | None = 1
    per_group_per_minute: int | None = 20
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"RateLimits.scale must be positive, got {self.scale}")


@dataclass(frozen=True)
class Refusal:
    scope: str
    retry_after: float


class SlidingWindowLimiter:
    """Strict sliding windows over accepted sends, plus Telegram's penalty after a 429.

    Pure: the caller passes the time, so tests can check it without waiting.
    """

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._global: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}
        self._per_group: dict[int, deque[float]] = {}
        self._global_blocked_until = 0.0
        self._chat_blocked_until: dict[int, float] = {}

    def check(self, chat_id: int, now: float) -> Refusal | None:
        """Refuse a send to ``chat_id`` at ``now``, or return None if it may go."""
        if now < self._global_blocked_until:
            return Refusal("global", self._report(self._global_blocked_until - now))
        blocked_until = self._chat_blocked_until.get(chat_id, 0.0)
        if now < blocked_until:
            return Refusal("chat", self._report(blocked_until - now))
        for scope, times, window, limit in self._windows(chat_id):
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= limit:
                retry_after = self._report(times[0] + window - now)
                if scope == "global":
                    self._global_blocked_until = now + retry_after
                else:
                    self._chat_blocked_until[chat_id] = now + retry_after
                return Refusal(scope, retry_after)
        return None

    def record(self, chat_id: int, now: float) -> None:
        """Count an accepted send."""
        for _, times, _, _ in self._windows(chat_id):
            times.append(now)

    def _windows(self, chat_id: int) -> Iterable[tuple[str, deque[float], float, int]]:
        limits, scale = self.limits, self.limits.scale
        if limits.global_per_second is not None:
            yield "global", self._global, 1.0 / scale, limits.global_per_second
        if limits.per_chat_per_second is not None:
            times = self._per_chat.setdefault(chat_id, deque())
            yield "chat", times, 1.0 / scale, limits.per_chat_per_second
        if limits.per_group_per_minute is not None and chat_id < 0:
            times = self._per_group.setdefault(chat_id, deque())
            yield "group", times, 60.0 / scale, limits.per_group_per_minute

    def _report(self, wait: float) -> float:
        """retry_after as Telegram states it: whole (scaled) seconds, rounded up, at least 1."""
        units = max(1, math.ceil(wait * self.limits.scale - 1e-9))
        return units if self.limits.scale == 1 else units / self.limits.scale


# -- errors and request parameters ---------------------------------------------------------


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str, parameters: JSON | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}", parameters)


class _DropConnection(Exception):
    """Close the socket without answering."""


class Params:
    """A request's parameters from the query string, a JSON body or a form post.

    Form posts carry nested objects as JSON strings (PTB sends them so); the getters decode.
    """

    def __init__(self, values: JSON) -> None:
        self.values = values

    def __contains__(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        return default if value is None else str(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_float(self, name: str, default: float) -> float:
        value = self.values.get(name)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat_id(self) -> int:
        value = self.values.get("chat_id")
        if value in (None, ""):
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None  # an unknown @username
        if chat_id == 0:
            raise bad_request("chat not found")
        return chat_id


def parse_body(content_type: str, body: bytes) -> JSON:
    """Decode a JSON, urlencoded or multipart body into a flat dict of parameters."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}
    try:
        if media_type == "application/json":
            decoded = json.loads(body)
        elif media_type == "multipart/form-data":
            decoded = _parse_multipart(content_type, body)
        else:
            decoded = _parse_query(body.decode("ascii"))
    except UnicodeDecodeError:
        raise bad_request("strings must be encoded in UTF-8") from None
    except ValueError as error:
        raise bad_request(f"can't parse request body: {error}") from None
    if not isinstance(decoded, dict):
        raise bad_request("request body must be a JSON object")
    return decoded


def _parse_query(query: str) -> JSON:
    """Decode a query string or urlencoded form strictly: bad UTF-8 is an error, not U+FFFD."""
    return dict(parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict"))


_FILENAME_SUFFIX = "\x00filename"  # where an uploaded part's file name is kept in the values


def _parse_multipart(content_type: str, body: bytes) -> JSON:
    header = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    values: JSON = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        values[name] = raw if filename else raw.decode("utf-8", "replace")
        if filename:
            values[f"{name}{_FILENAME_SUFFIX}"] = filename
    return values


# -- the fake server -----------------------------------------------------------------------


Handler = Callable[[Params], Any]


class FakeBotApi:
    """The fake Bot API server and the test API around it. See the module docstring."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "DigestTestBot",
        bot_name: str = "Digest Test Bot",
        rate_limits: RateLimits | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot = build.bot_user(self.bot_id, bot_username, bot_name)
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id: int | None = None
        self._thread: threading.Thread | None = None
        self._handler_tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers = self._method_table()
        self._init_state(rate_limits)

    def _init_state(self, rate_limits: RateLimits | None) -> None:
        self._limiter = SlidingWindowLimiter(rate_limits) if rate_limits else None
        self._stats = Stats()
        # updates
        self._update_ids = itertools.count(1)
        self._pending_updates: deque[JSON] = deque()
        self._injected_at: dict[int, float] = {}
        self._fetched_at: dict[int, float] = {}  # first handed to getUpdates
        self._allowed_updates = DEFAULT_ALLOWED_UPDATES
        self._poll_waiters: list[asyncio.Future[None]] = []
        self._current_poll: object | None = None
        self._polls = 0
        self._parked_polls = 0
        self._webhook_task: asyncio.Task[None] | None = None
        # chats and messages
        self._chats: dict[int, JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[int, list[SentMessage]] = {}
        self._by_key: dict[tuple[int, int], SentMessage] = {}
        self._accepted_texts: set[tuple[int, str]] = set()
        self._read_cursor: dict[int, int] = {}
        self._admins: dict[int, dict[int, str]] = {}
        # callbacks
        self._query_ids = itertools.count(1)
        self._open_queries: dict[str, JSON] = {}
        self._callback_answers: list[CallbackAnswer] = []
        self._answers_read = 0
        # bot settings recorded
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        self._webhook: JSON | None = None
        self.chat_actions: list[tuple[int, str]] = []
        # faults
        self._blocked: dict[int, str] = {}
        self._missing: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._refused: dict[str, ApiError] = {}
        self._drop_share = 0.0
        self._drop_after_recording = False
        self._lose_share = 0.0  # lose_answers: deliver, then drop (alongside drop_connections)
        self._lose_random = random.Random(0)
        self._random = random.Random(0)
        self._delays: dict[str | None, float] = {}
        self._failures_left = 0
        self._failure_status = 502
        self._failure_methods: frozenset[str] | None = None
        self._floods_left = 0
        self._chat_floods: dict[int, tuple[int, float]] = {}  # chat -> (429s left, retry_after)
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._file_ids = itertools.count(1)
        self._flood_retry_after = 1.0
        self._flood_scope = "chat"

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` once started."""
        if self._server is None:
            raise RuntimeError("FakeBotApi is not running: await start() first")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{self._host}:{port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def application_builder(self) -> ApplicationBuilder:
        """A PTB ``ApplicationBuilder`` with the token and both URLs pointing at this fake."""
        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    def make_bot(self) -> Bot:
        """A PTB ``Bot`` for this fake (use ``async with`` to initialise and close it)."""
        return Bot(self.token, base_url=self.base_url, base_file_url=self.base_file_url)

    async def start(self) -> None:
        """Listen on 127.0.0.1 (port 0 by default: see ``url``) in the running loop."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread_id = threading.get_ident()
        self._server = await asyncio.start_server(self._serve_connection, self._host, self._port)
        logger.debug("fake Bot API listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening, end open requests (long polls answer nothing) and close sockets."""
        if self._server is None:
            return
        self._server.close()
        with self._lock:
            self._wake_pollers_locked()
        tasks = list(self._handler_tasks)
        if self._webhook_task is not None:
            tasks.append(self._webhook_task)
        for task in tasks:
            task.cancel()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def start_in_thread(self, timeout: float = 10.0) -> None:
        """Run the server in a background thread with its own event loop."""
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:  # reported to the starting thread below
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-bot-api", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("fake Bot API did not start in its thread")
        if failure:
            raise failure[0]

    def stop_in_thread(self, timeout: float = 10.0) -> None:
        """Stop a server started with ``start_in_thread`` and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        loop.close()
        self._thread = None

    def __enter__(self) -> FakeBotApi:
        self.start_in_thread()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_in_thread()

    # -- HTTP ----------------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handler_tasks.add(task)
        self._writers.add(writer)
        with self._lock:
            self._stats.connections += 1
        connection = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await _read_request(connection, reader)
                if request is None:
                    return
                try:
                    status, body = await self._answer(*request)
                except _DropConnection:
                    writer.transport.abort()
                    return
                writer.write(_response_bytes(connection, status, body))
                await writer.drain()
                if connection.our_state is not h11.DONE:
                    return
                connection.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.CancelledError):
            return
        finally:
            self._handler_tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, request: h11.Request, body: bytes) -> tuple[int, JSON | bytes]:
        """Route one HTTP request; return the status and the JSON body."""
        target = urlsplit(request.target.decode("latin-1"))
        if target.path.startswith("/file/bot"):
            return self._file_download(target.path.removeprefix("/file/bot"))
        prefix, _, rest = target.path.partition("/bot")
        token, _, method = rest.partition("/")
        if prefix or not rest or not method:
            return 404, ApiError(404, "Not Found").body()
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").body()
        try:
            values = _parse_query(target.query)
            values.update(parse_body(_header(request, b"content-type"), body))
            result = await self._call(method, Params(values))
        except ApiError as error:
            if error.code == 400:
                with self._lock:
                    self._stats.bad_requests += 1
            return error.code, error.body()
        except _DropConnection:
            raise
        except Exception:  # a bug in the fake: answer like a server error, keep serving
            logger.exception("fake Bot API failed on %s", method)
            return 500, ApiError(500, "Internal Server Error").body()
        return 200, {"ok": True, "result": result}

    async def _call(self, method: str, params: Params) -> Any:
        name = method.lower()
        handler = self._handlers.get(name)
        long_poll = name == "getupdates"
        with self._lock:
            self._stats.requests[method] += 1
            refused = self._refused.get(name)
            fail = self._take_injected_failure(name)
            delay = self._delays.get(name, self._delays.get(None, 0.0))
        if delay:
            await asyncio.sleep(delay)
        if fail is not None:
            raise fail
        if refused is not None:
            raise refused
        if long_poll:
            return await self._get_updates(params)
        if handler is None:
            raise ApiError(404, "Not Found")
        return handler(params)

    def _method_table(self) -> dict[str, Handler]:
        table: dict[str, Handler] = {
            "getMe": lambda params: dict(self._bot_profile()),
            "logOut": lambda params: True,
            "close": lambda params: True,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": lambda params: self._set_description(params, "description"),
            "getMyDescription": lambda params: self._get_description(params, "description"),
            "setMyShortDescription": lambda params: self._set_description(
                params, "short_description"
            ),
            "getMyShortDescription": lambda params: self._get_description(
                params, "short_description"
            ),
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "sendChatAction": self._send_chat_action,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
        }
        return {name.lower(): handler for name, handler in table.items()}

    # -- bot identity and settings -------------------------------------------------------

    def _bot_profile(self) -> JSON:
        return {
            **self.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, params: Params) -> bool:
        url = params.get_str("url", "") or ""
        with self._lock:
            if not url:
                self._webhook = None
                return True
            self._webhook = {
                "url": url,
                "secret_token": params.get_str("secret_token"),
                "allowed_updates": params.get_json("allowed_updates"),
                "max_connections": params.get_int("max_connections", 40),
            }
            allowed = params.get_json("allowed_updates")
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
            if params.get_bool("drop_pending_updates"):
                self._pending_updates.clear()
            self._wake_pollers_locked()  # a running pump picks up the new URL
        if _is_loopback(url) and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.get_running_loop().create_task(self._push_to_webhook())
        return True

    async def _push_to_webhook(self) -> None:
        """Deliver queued updates to a loopback webhook one by one, in order, as Telegram does.

        A failed delivery is retried with backoff; only loopback URLs are ever contacted.
        """
        backoff = _WEBHOOK_FIRST_BACKOFF
        async with httpx.AsyncClient(timeout=_WEBHOOK_TIMEOUT) as client:
            while True:
                loop = asyncio.get_running_loop()
                with self._lock:
                    hook = self._webhook
                    if hook is None or not _is_loopback(hook["url"]):
                        return
                    batch = self._take_updates_locked(None, 1)
                    if not batch:
                        waiter: asyncio.Future[None] = loop.create_future()
                        self._poll_waiters.append(waiter)
                if not batch:
                    await waiter
                    continue
                delivered = await _post_update(client, hook, batch[0])
                with self._lock:
                    if delivered:
                        self._stats.webhook_deliveries += 1
                        self._take_updates_locked(batch[0]["update_id"] + 1, 1)
                    else:
                        self._stats.webhook_failures += 1
                if delivered:
                    backoff = _WEBHOOK_FIRST_BACKOFF
                else:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _WEBHOOK_MAX_BACKOFF)

    def _delete_webhook(self, params: Params) -> bool:
        with self._lock:
            self._webhook = None
            if params.get_bool("drop_pending_updates"):
                self._pending_updates.clear()
            self._wake_pollers_locked()  # the webhook pump stops
        return True

    def _get_webhook_info(self, params: Params) -> JSON:
        with self._lock:
            info: JSON = {
                "url": self._webhook["url"] if self._webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending_updates),
            }
            if self._webhook:
                info["max_connections"] = self._webhook["max_connections"]
        return info

    def _set_my_commands(self, params: Params) -> bool:
        commands = params.get_json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 BotCommand")
        for command in commands:
            if not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self._commands[_scope_key(params)] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        return True

    def _get_my_commands(self, params: Params) -> list[JSON]:
        with self._lock:
            return list(self._commands.get(_scope_key(params), []))

    def _delete_my_commands(self, params: Params) -> bool:
        with self._lock:
            self._commands.pop(_scope_key(params), None)
        return True

    def _set_description(self, params: Params, kind: str) -> bool:
        with self._lock:
            self._descriptions[(kind, params.get_str("language_code", "") or "")] = (
                params.get_str(kind, "") or ""
            )
        return True

    def _get_description(self, params: Params, kind: str) -> JSON:
        with self._lock:
            text = self._descriptions.get((kind, params.get_str("language_code", "") or ""), "")
        return {kind: text}

    # -- chats -------------------------------------------------------------------------

    def _check_chat_locked(self, chat_id: int) -> None:
        """Refuse a chat the way Telegram does for blocked, missing and migrated chats."""
        if chat_id in self._blocked:
            self._stats.forbidden += 1
            raise ApiError(403, self._blocked[chat_id])
        if chat_id in self._missing:
            self._stats.chat_not_found += 1
            raise bad_request("chat not found")
        if chat_id in self._migrated:
            self._stats.migrated += 1
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )

    def _chat_locked(self, chat_id: int) -> JSON:
        return self._chats.get(chat_id) or build.chat_for_id(chat_id)

    def _get_chat(self, params: Params) -> JSON:
        chat_id = params.chat_id()
        with self._lock:
            self._check_chat_locked(chat_id)
            chat = dict(self._chat_locked(chat_id))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _member_status_locked(self, chat_id: int, user_id: int) -> str:
        if chat_id == user_id:
            return "member"
        return self._admins.get(chat_id, {}).get(user_id, "member")

    def _get_chat_member(self, params: Params) -> JSON:
        chat_id = params.chat_id()
        user_id = params.get_int("user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        with self._lock:
            self._check_chat_locked(chat_id)
            status = self._member_status_locked(chat_id, user_id)
        member = self.bot if user_id == self.bot_id else build.user(user_id, f"User {user_id}")
        return build.chat_member(member, status)

    def _get_chat_administrators(self, params: Params) -> list[JSON]:
        chat_id = params.chat_id()
        if chat_id > 0:
            raise bad_request("there are no administrators in the private chat")
        with self._lock:
            self._check_chat_locked(chat_id)
            admins = dict(self._admins.get(chat_id, {}))
        return [
            build.chat_member(build.user(user_id, f"User {user_id}"), status)
            for user_id, status in admins.items()
        ]

    def _send_chat_action(self, params: Params) -> bool:
        chat_id = params.chat_id()
        action = params.get_str("action", "") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        with self._lock:
            self._check_chat_locked(chat_id)
            self.chat_actions.append((chat_id, action))
        return True

    # -- messages ----------------------------------------------------------------------

    def _send_document(self, params: Params) -> JSON:
        chat_id = params.chat_id()
        content = params.values.get("document")
        if not isinstance(content, bytes):
            raise bad_request("there is no document in the request")
        name = str(params.values.get(f"document{_FILENAME_SUFFIX}", "document"))
        caption = params.get_str("caption", "") or ""
        parse_mode = params.get_str("parse_mode")
        plain_text, entities = _parse_text(caption, parse_mode) if caption else ("", [])
        now = time.monotonic()
        with self._lock:
            self._check_chat_locked(chat_id)
            self._check_rate_limit_locked(chat_id, now)
            sent = SentMessage(
                chat_id=chat_id,
                message_id=self._new_message_id_locked(chat_id),
                text=caption,
                parse_mode=parse_mode,
                reply_markup=None,
                link_preview_disabled=True,
                at=now,
                plain_text=plain_text,
                entities=entities,
                document=(name, content),
            )
            self._record_locked(sent)
            data = self._message_json_locked(sent)
            file_id = self._store_file_locked(name, content)
        data.pop("text", None)
        data.pop("entities", None)
        data["caption"] = plain_text
        data["document"] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "file_size": len(content),
        }
        return data

    def _store_file_locked(self, name: str, content: bytes) -> str:
        file_id = f"file{next(self._file_ids)}"
        self._files[file_id] = (f"documents/{file_id}_{name}", content)
        return file_id

    def _get_file(self, params: Params) -> JSON:
        file_id = params.get_str("file_id") or ""
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            raise bad_request("Bad Request: invalid file_id")
        path, content = found
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
            "file_path": path,
        }

    def _file_download(self, rest: str) -> tuple[int, JSON | bytes]:
        token, _, path = unquote(rest).partition("/")
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").body()
        with self._lock:
            for file_path, content in self._files.values():
                if file_path == path:
                    return 200, content
        return 404, ApiError(404, "Not Found").body()

    def _send_message(self, params: Params) -> JSON:
        chat_id = params.chat_id()
        text = params.get_str("text", "") or ""
        parse_mode = params.get_str("parse_mode")
        plain_text, entities = _parse_text(text, parse_mode)
        reply_markup = _checked_reply_markup(params.get_json("reply_markup"))
        preview = _link_preview_options(params)
        now = time.monotonic()
        with self._lock:
            self._check_chat_locked(chat_id)
            self._check_rate_limit_locked(chat_id, now)
            drop = self._drop_share > 0 and self._random.random() < self._drop_share
            if drop and not self._drop_after_recording:
                self._stats.dropped_before_recording += 1
                raise _DropConnection
            sent = SentMessage(
                chat_id=chat_id,
                message_id=self._new_message_id_locked(chat_id),
                text=text,
                parse_mode=parse_mode,
                reply_markup=reply_markup,
                link_preview_disabled=bool(preview and preview.get("is_disabled")),
                at=now,
                plain_text=plain_text,
                entities=entities,
                link_preview_options=preview,
                reply_to_message_id=_reply_to(params),
            )
            self._record_locked(sent)
            lose = self._lose_share > 0 and self._lose_random.random() < self._lose_share
            if drop or lose:
                self._stats.dropped_after_recording += 1
                raise _DropConnection
            return self._message_json_locked(sent)

    def _check_rate_limit_locked(self, chat_id: int, now: float) -> None:
        refusal: Refusal | None = None
        chat_left, chat_retry_after = self._chat_floods.get(chat_id, (0, 0.0))
        if chat_left > 0:
            self._chat_floods[chat_id] = (chat_left - 1, chat_retry_after)
            refusal = Refusal("chat", chat_retry_after)
        elif self._floods_left > 0:
            self._floods_left -= 1
            refusal = Refusal(self._flood_scope, self._flood_retry_after)
        elif self._limiter is None:
            return
        else:
            refusal = self._limiter.check(chat_id, now)
        if refusal is None:
            self._limiter.record(chat_id, now)
            return
        if refusal.scope == "global":
            self._stats.rate_limited_global += 1
        elif refusal.scope == "group":
            self._stats.rate_limited_group += 1
        else:
            self._stats.rate_limited_chat += 1
        self._stats.rate_limit_events.append(
            RateLimitEvent(now, refusal.scope, chat_id, refusal.retry_after)
        )
        seconds = refusal.retry_after
        shown = int(seconds) if float(seconds).is_integer() else seconds
        raise ApiError(429, f"Too Many Requests: retry after {shown}", {"retry_after": shown})

    def _new_message_id_locked(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _record_locked(self, sent: SentMessage) -> None:
        self._messages.setdefault(sent.chat_id, []).append(sent)
        self._by_key[(sent.chat_id, sent.message_id)] = sent
        self._stats.accepted += 1
        self._stats.per_chat[sent.chat_id] += 1
        key = (sent.chat_id, sent.text)
        if key in self._accepted_texts:
            self._stats.duplicates += 1
        self._accepted_texts.add(key)

    def _message_json_locked(self, sent: SentMessage) -> JSON:
        data: JSON = {
            "message_id": sent.message_id,
            "from": self.bot,
            "chat": self._chat_locked(sent.chat_id),
            "date": build.now_unix(),
            "text": sent.plain_text,
        }
        if sent.entities:
            data["entities"] = sent.entities
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            data["reply_markup"] = sent.reply_markup
        if sent.link_preview_options:
            data["link_preview_options"] = sent.link_preview_options
        if sent.edits:
            data["edit_date"] = build.now_unix()
        return data

    def _edited_message_locked(self, params: Params) -> SentMessage:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by this fake")
        chat_id = params.chat_id()
        message_id = params.get_int("message_id")
        self._check_chat_locked(chat_id)
        sent = self._by_key.get((chat_id, message_id or 0))
        if sent is None or sent.deleted:
            raise bad_request("message to edit not found")
        return sent

    def _edit_message_text(self, params: Params) -> JSON:
        text = params.get_str("text", "") or ""
        parse_mode = params.get_str("parse_mode")
        plain_text, entities = _parse_text(text, parse_mode)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        reply_markup = _checked_reply_markup(params.get_json("reply_markup"))
        with self._lock:
            sent = self._edited_message_locked(params)
            if (plain_text, entities, reply_markup) == (
                sent.plain_text,
                sent.entities,
                sent.reply_markup,
            ):
                raise bad_request(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
            sent.text, sent.parse_mode, sent.reply_markup = text, parse_mode, reply_markup
            sent.plain_text, sent.entities = plain_text, entities
            preview = _link_preview_options(params)
            if preview is not None:
                sent.link_preview_options = preview
                sent.link_preview_disabled = bool(preview.get("is_disabled"))
            self._apply_edit_locked(sent)
            return self._message_json_locked(sent)

    def _edit_message_reply_markup(self, params: Params) -> JSON:
        reply_markup = _checked_reply_markup(params.get_json("reply_markup"))
        with self._lock:
            sent = self._edited_message_locked(params)
            if reply_markup == sent.reply_markup:
                raise bad_request(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
            sent.reply_markup = reply_markup
            self._apply_edit_locked(sent)
            return self._message_json_locked(sent)

    def _apply_edit_locked(self, sent: SentMessage) -> None:
        sent.edits.append(Edit(time.monotonic(), sent.text, sent.parse_mode, sent.reply_markup))
        self._stats.edits += 1

    def _delete_message(self, params: Params) -> bool:
        chat_id = params.chat_id()
        message_id = params.get_int("message_id", 0) or 0
        with self._lock:
            self._check_chat_locked(chat_id)
            sent = self._by_key.get((chat_id, message_id))
            if sent is None or sent.deleted:
                raise bad_request("message to delete not found")
            sent.deleted = True
        return True

    def _answer_callback_query(self, params: Params) -> bool:
        query_id = params.get_str("callback_query_id", "") or ""
        text = params.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        with self._lock:
            if self._open_queries.pop(query_id, None) is None:
                raise bad_request(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            self._callback_answers.append(
                CallbackAnswer(
                    callback_query_id=query_id,
                    text=text,
                    show_alert=params.get_bool("show_alert"),
                    url=params.get_str("url"),
                    cache_time=params.get_int("cache_time", 0) or 0,
                    at=time.monotonic(),
                )
            )
        return True

    # -- long polling --------------------------------------------------------------------

    async def _get_updates(self, params: Params) -> list[JSON]:
        offset = params.get_int("offset")
        limit = min(max(params.get_int("limit", 100) or 100, 1), 100)
        timeout = max(params.get_float("timeout", 0.0), 0.0)
        allowed = params.get_json("allowed_updates")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        me = object()
        with self._lock:
            if self._webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
            self._current_poll = me
            self._polls += 1
            self._wake_pollers_locked()  # an older poll learns it was superseded
        while True:
            with self._lock:
                if self._current_poll is not me:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                batch = self._take_updates_locked(offset, limit)
                remaining = deadline - loop.time()
                if batch or remaining <= 0 or self._server is None:
                    return batch
                waiter: asyncio.Future[None] = loop.create_future()
                self._poll_waiters.append(waiter)
                self._parked_polls += 1
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter, remaining)
            finally:
                with self._lock:
                    self._parked_polls -= 1

    def _take_updates_locked(self, offset: int | None, limit: int) -> list[JSON]:
        pending = self._pending_updates
        if offset is not None and offset < 0:
            while len(pending) > -offset:
                pending.popleft()
        elif offset is not None:
            while pending and pending[0]["update_id"] < offset:
                pending.popleft()
        batch: list[JSON] = []
        for an_update in list(pending):
            if build.update_kind(an_update) not in self._allowed_updates:
                pending.remove(an_update)  # Telegram never creates unwanted updates
                continue
            batch.append(an_update)
            if len(batch) == limit:
                break
        now = time.monotonic()
        for an_update in batch:
            self._fetched_at.setdefault(an_update["update_id"], now)
        return copy.deepcopy(batch)

    def _wake_pollers_locked(self) -> None:
        waiters, self._poll_waiters = self._poll_waiters, []
        if not waiters or self._loop is None:
            return
        if threading.get_ident() == self._loop_thread_id:
            for waiter in waiters:
                _resolve(waiter)
        else:
            for waiter in waiters:
                self._loop.call_soon_threadsafe(_resolve, waiter)

    # -- faults (configuration) ------------------------------------------------------------

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Switch the flood limits on (fresh windows) or off."""
        with self._lock:
            self._limiter = SlidingWindowLimiter(limits) if limits else None

    def block(self, chat_id: int, description: str | None = None) -> None:
        """Answer 403 for this chat: the user blocked the bot (or it was kicked from a group)."""
        default = (
            "Forbidden: bot was blocked by the user"
            if chat_id > 0
            else "Forbidden: bot was kicked from the group chat"
        )
        with self._lock:
            self._blocked[chat_id] = description or default

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.pop(chat_id, None)

    def set_chat_missing(self, chat_id: int) -> None:
        """Answer 400 "Bad Request: chat not found" for this chat."""
        with self._lock:
            self._missing.add(chat_id)

    def migrate_group(self, chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup: answer 400 with parameters.migrate_to_chat_id."""
        with self._lock:
            self._migrated[chat_id] = new_chat_id
            old = self._chats.get(chat_id)
            title = old.get("title", "Supergroup") if old else f"Supergroup {new_chat_id}"
            self._chats[new_chat_id] = build.supergroup(new_chat_id, title=title)

    def drop_connections(
        self, share: float, *, after_recording: bool = False, seed: int = 0
    ) -> None:
        """Close the socket without answering for a seeded random ``share`` of sendMessage.

        ``after_recording=True`` records the message first: Telegram delivered it but the
        answer was lost, the case where a blind resend duplicates.
        """
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be within 0..1, got {share}")
        with self._lock:
            self._drop_share = share
            self._drop_after_recording = after_recording
            self._random = random.Random(seed)

    def lose_answers(self, share: float, *, seed: int = 0) -> None:
        """Record a seeded random ``share`` of sendMessage, then close the socket unanswered.

        Telegram delivered these but the answer was lost; a sender that resends them
        duplicates. Independent of ``drop_connections`` (which can drop others before
        recording), so one run can have both.
        """
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be within 0..1, got {share}")
        with self._lock:
            self._lose_share = share
            self._lose_random = random.Random(seed)

    def slow_answers(
        self, seconds: float, *, methods: Iterable[str] | None = ("sendMessage",)
    ) -> None:
        """Delay answers to these methods (all methods when None) by ``seconds``."""
        with self._lock:
            if methods is None:
                self._delays[None] = seconds
            else:
                for method in methods:
                    self._delays[method.lower()] = seconds

    def fail_next(
        self, count: int, *, status: int = 502, methods: Iterable[str] | None = ("sendMessage",)
    ) -> None:
        """The next ``count`` requests to these methods (all when None) fail with ``status``."""
        with self._lock:
            self._failures_left = count
            self._failure_status = status
            self._failure_methods = (
                None if methods is None else frozenset(m.lower() for m in methods)
            )

    def flood(self, count: int, retry_after: float, *, scope: str = "chat") -> None:
        """The next ``count`` sendMessage calls answer 429 with ``retry_after`` (in seconds).

        Deterministic flood control, whatever the machine's speed: tests of how 429s are
        honoured use this instead of racing the sliding-window limits.
        """
        with self._lock:
            self._floods_left = count
            self._flood_retry_after = retry_after
            self._flood_scope = scope

    def flood_chat(self, chat_id: int, count: int, retry_after: float) -> None:
        """The next ``count`` sendMessage calls to this chat alone answer 429 with
        ``retry_after`` (seconds): Telegram's flood control for one chat, not the bot."""
        with self._lock:
            self._chat_floods[chat_id] = (count, retry_after)

    def refuse(self, method: str, error_code: int = 404, description: str | None = None) -> None:
        """Make ``method`` always fail, e.g. a server that does not implement setMyCommands."""
        default = "Not Found" if error_code == 404 else "Bad Request: method is unavailable"
        with self._lock:
            self._refused[method.lower()] = ApiError(error_code, description or default)

    def allow(self, method: str) -> None:
        with self._lock:
            self._refused.pop(method.lower(), None)

    def set_admins(
        self, chat_id: int, user_ids: Iterable[int], *, owner_id: int | None = None
    ) -> None:
        """Who getChatMember/getChatAdministrators report as this group's administrators."""
        with self._lock:
            admins = dict.fromkeys(user_ids, "administrator")
            if owner_id is not None:
                admins[owner_id] = "creator"
            self._admins[chat_id] = admins

    def _take_injected_failure(self, method: str) -> ApiError | None:
        if self._failures_left <= 0:
            return None
        if self._failure_methods is not None and method not in self._failure_methods:
            return None
        self._failures_left -= 1
        self._stats.injected_failures += 1
        reason = "Bad Gateway" if self._failure_status == 502 else "Internal Server Error"
        return ApiError(self._failure_status, reason)

    # -- simulated users (test API) --------------------------------------------------------

    def inject_update(self, kind: str, payload: JSON) -> JSON:
        """Queue any update (``kind`` is e.g. "message", "edited_message"); return it."""
        with self._lock:
            update_id = next(self._update_ids)
            an_update = build.update(update_id, kind, payload)
            self._pending_updates.append(an_update)
            self._injected_at[update_id] = time.monotonic()
            self._wake_pollers_locked()
        return an_update

    def private_message(self, user: JSON, text: str) -> JSON:
        """``user`` writes ``text`` to the bot in their private chat; returns the update."""
        return self.chat_message(build.private_chat(user), user, text)

    def private_document(
        self, user: JSON, file_name: str, content: bytes, *, caption: str | None = None
    ) -> JSON:
        """``user`` sends a file to the bot in their private chat; returns the update."""
        chat = build.private_chat(user)
        with self._lock:
            self._chats[chat["id"]] = chat
            message_id = self._new_message_id_locked(chat["id"])
            file_id = self._store_file_locked(file_name, content)
        payload = build.message(chat, user, "", message_id=message_id)
        del payload["text"]
        payload["document"] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "file_size": len(content),
        }
        if caption:
            payload["caption"] = caption
        return self.inject_update("message", payload)

    def group_message(self, chat: JSON, user: JSON, text: str) -> JSON:
        """``user`` writes ``text`` in the group ``chat``; returns the update."""
        if not build.is_group(chat):
            raise ValueError(f"group_message needs a group chat, got a {chat['type']} chat")
        return self.chat_message(chat, user, text)

    def chat_message(self, chat: JSON, user: JSON, text: str) -> JSON:
        """``user`` writes ``text`` in any ``chat``; returns the update."""
        with self._lock:
            self._chats[chat["id"]] = chat
            message_id = self._new_message_id_locked(chat["id"])
        return self.inject_update(
            "message", build.message(chat, user, text, message_id=message_id)
        )

    def command(
        self,
        chat: JSON,
        user: JSON,
        name: str,
        args: str = "",
        *,
        mention_bot: bool | None = None,
    ) -> JSON:
        """``user`` sends ``/name args`` in ``chat``; in groups as ``/name@BotName`` by default."""
        if mention_bot is None:
            mention_bot = build.is_group(chat)
        username = self.bot_username if mention_bot else None
        with self._lock:
            self._chats[chat["id"]] = chat
            message_id = self._new_message_id_locked(chat["id"])
        payload = build.command_message(
            chat, user, name, args, message_id=message_id, bot_username=username
        )
        return self.inject_update("message", payload)

    def private_command(self, user: JSON, name: str, args: str = "") -> JSON:
        return self.command(build.private_chat(user), user, name, args)

    def press_button(
        self, chat: JSON | int, message_id: int, callback_data: str, user: JSON
    ) -> str:
        """``user`` presses a button with ``callback_data`` under the bot's message.

        The data need not be on the message (forged presses are allowed). Returns the
        callback query id to pass to ``wait_for_callback_answer``.
        """
        chat_id = chat if isinstance(chat, int) else chat["id"]
        with self._lock:
            chat_json = chat if isinstance(chat, dict) else self._chat_locked(chat_id)
            self._chats.setdefault(chat_id, chat_json)
            sent = self._by_key.get((chat_id, message_id))
            if sent is not None:
                bot_message = self._message_json_locked(sent)
            else:  # Telegram sends an inaccessible message for unknown or very old ones
                bot_message = {"message_id": message_id, "chat": chat_json, "date": 0}
            query_id = f"{self.bot_id}{next(self._query_ids):08d}"
            query = build.callback_query(query_id, user, bot_message, callback_data)
            self._open_queries[query_id] = query
        self.inject_update("callback_query", query)
        return query_id

    def bot_added_to_group(self, chat: JSON, by_user: JSON) -> list[JSON]:
        """``by_user`` adds the bot to ``chat``: my_chat_member, then the service message."""
        with self._lock:
            self._chats[chat["id"]] = chat
            message_id = self._new_message_id_locked(chat["id"])
        member_update = build.my_chat_member(
            chat, by_user, self.bot, old_status="left", new_status="member"
        )
        service = build.new_chat_members_message(chat, by_user, [self.bot], message_id=message_id)
        return [
            self.inject_update("my_chat_member", member_update),
            self.inject_update("message", service),
        ]

    def bot_removed_from_group(self, chat: JSON, by_user: JSON) -> JSON:
        payload = build.my_chat_member(
            chat, by_user, self.bot, old_status="member", new_status="left"
        )
        return self.inject_update("my_chat_member", payload)

    def user_blocks_bot(self, user: JSON) -> JSON:
        """The user blocks the bot: a my_chat_member update, and 403 for sends from now on."""
        self.block(user["id"])
        payload = build.my_chat_member(
            build.private_chat(user), user, self.bot, old_status="member", new_status="kicked"
        )
        return self.inject_update("my_chat_member", payload)

    # -- observations (test API) -----------------------------------------------------------

    @property
    def stats(self) -> Stats:
        """A copy of the counters, consistent at one instant."""
        with self._lock:
            stats = self._stats
            return dataclasses.replace(
                stats,
                per_chat=Counter(stats.per_chat),
                rate_limit_events=list(stats.rate_limit_events),
                requests=Counter(stats.requests),
            )

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages accepted for ``chat_id`` (every chat when None), in the order accepted."""
        with self._lock:
            if chat_id is not None:
                return [m.snapshot() for m in self._messages.get(chat_id, [])]
            return sorted(
                (m.snapshot() for messages in self._messages.values() for m in messages),
                key=lambda m: m.at,
            )

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        """The message as it is now, edits applied (a snapshot)."""
        with self._lock:
            return self._by_key[(chat_id, message_id)].snapshot()

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        with self._lock:
            return list(self._callback_answers)

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command menu set with setMyCommands for this scope and language."""
        scope_json = json.dumps(scope or {"type": "default"}, sort_keys=True)
        with self._lock:
            return list(self._commands.get((scope_json, language_code), []))

    def description(self, kind: str = "description", language_code: str = "") -> str | None:
        """The text set by setMyDescription (kind "description") or setMyShortDescription."""
        with self._lock:
            return self._descriptions.get((kind, language_code))

    @property
    def webhook(self) -> JSON | None:
        with self._lock:
            return dict(self._webhook) if self._webhook else None

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._pending_updates)

    def injected_at(self, update_id: int) -> float:
        """time.monotonic() when the update was injected (for latency measurements)."""
        with self._lock:
            return self._injected_at[update_id]

    def fetched_at(self, update_id: int) -> float | None:
        """time.monotonic() when getUpdates first handed the update out (None: not yet)."""
        with self._lock:
            return self._fetched_at.get(update_id)

    async def wait_for(
        self, condition: Callable[[], Any], *, timeout: float = 5.0, what: str = "condition"
    ) -> Any:
        """Poll ``condition`` (called under the fake's lock) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                result = condition()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"fake Bot API: no {what} within {timeout} s")
            await asyncio.sleep(_POLL_INTERVAL)

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        """The next ``count`` messages sent to ``chat_id`` that no earlier call returned."""

        def next_messages() -> list[SentMessage] | None:
            start = self._read_cursor.get(chat_id, 0)
            messages = self._messages.get(chat_id, [])
            if len(messages) - start < count:
                return None
            self._read_cursor[chat_id] = start + count
            return [m.snapshot() for m in messages[start : start + count]]

        try:
            return await self.wait_for(next_messages, timeout=timeout, what="messages")
        except TimeoutError:
            with self._lock:
                unread = self._messages.get(chat_id, [])[self._read_cursor.get(chat_id, 0) :]
                texts = [m.text for m in unread]
            raise TimeoutError(
                f"fake Bot API: expected {count} new message(s) for chat {chat_id} within "
                f"{timeout} s, got {len(texts)}: {texts!r}"
            ) from None

    async def wait_for_edit(
        self, chat_id: int, message_id: int, *, edits: int = 1, timeout: float = 5.0
    ) -> SentMessage:
        """Wait until the message has been edited at least ``edits`` times in total."""

        def edited() -> SentMessage | None:
            sent = self._by_key.get((chat_id, message_id))
            return sent.snapshot() if sent is not None and len(sent.edits) >= edits else None

        return await self.wait_for(
            edited, timeout=timeout, what=f"edit of message {message_id} in chat {chat_id}"
        )

    async def wait_for_callback_answer(
        self, callback_query_id: str | None = None, timeout: float = 5.0
    ) -> CallbackAnswer:
        """The answer to this query, or (with no id) the next answer no earlier call returned."""

        def answer() -> CallbackAnswer | None:
            if callback_query_id is not None:
                for candidate in self._callback_answers:
                    if candidate.callback_query_id == callback_query_id:
                        return candidate
                return None
            if self._answers_read < len(self._callback_answers):
                self._answers_read += 1
                return self._callback_answers[self._answers_read - 1]
            return None

        return await self.wait_for(answer, timeout=timeout, what="callback answer")

    async def wait_for_polling(self, timeout: float = 5.0) -> None:
        """Wait until the bot has called getUpdates at least once (it is up and polling)."""
        await self.wait_for(lambda: self._polls > 0, timeout=timeout, what="getUpdates call")

    async def wait_for_parked_poll(self, timeout: float = 5.0) -> None:
        """Wait until a getUpdates long poll is waiting for an update to arrive."""
        await self.wait_for(
            lambda: self._parked_polls > 0, timeout=timeout, what="waiting getUpdates call"
        )


# -- helpers ---------------------------------------------------------------------------------


async def _read_request(
    connection: h11.Connection, reader: asyncio.StreamReader
) -> tuple[h11.Request, bytes] | None:
    """Read one whole request, or None when the client closed the connection."""
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            return None
        else:  # pragma: no cover - h11.PAUSED cannot happen before we answer
            return None


def _response_bytes(connection: h11.Connection, status: int, body: JSON | bytes) -> bytes:
    if isinstance(body, bytes):
        payload, content_type = body, "application/octet-stream"
    else:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
        content_type = "application/json"
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(payload))),
        ("Server", "fake-bot-api"),
    ]
    data = connection.send(h11.Response(status_code=status, headers=headers))
    data = (data or b"") + (connection.send(h11.Data(data=payload)) or b"")
    return data + (connection.send(h11.EndOfMessage()) or b"")


def _header(request: h11.Request, name: bytes) -> str:
    for key, value in request.headers:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in _LOOPBACK_HOSTS


async def _post_update(client: httpx.AsyncClient, hook: JSON, an_update: JSON) -> bool:
    """POST one update to the webhook; True when it answered 2xx."""
    headers = {}
    if hook.get("secret_token"):
        headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
    try:
        response = await client.post(hook["url"], json=an_update, headers=headers)
    except httpx.HTTPError as error:
        logger.debug("webhook delivery to %s failed: %s", hook["url"], error)
        return False
    return response.is_success


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _scope_key(params: Params) -> tuple[str, str]:
    scope = params.get_json("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.get_str("language_code", "") or ""


def _parse_text(text: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """Check a message text like Telegram; return the plain text and its entities."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("strings must be encoded in UTF-8") from None
    if parse_mode is None or parse_mode == "":
        plain, entities = text, []
    elif parse_mode.lower() == "html":
        try:
            parsed = parse_telegram_html(text)
        except TelegramHTMLError as error:
            raise bad_request(f"can't parse entities: {error}") from None
        plain, entities = parsed.plain_text, parsed.entities
    elif parse_mode.lower() in ("markdown", "markdownv2"):
        plain, entities = text, []  # not modelled: accepted as is
    else:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    if not plain.strip():
        raise bad_request("message text is empty")
    if utf16_length(plain) > MAX_MESSAGE_LENGTH:
        raise bad_request("message is too long")
    return plain, entities


def _checked_reply_markup(markup: Any) -> JSON | None:
    """Validate an inline keyboard like Telegram; other keyboards are stored as given."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    keyboard = markup.get("inline_keyboard")
    if keyboard is None:
        return markup
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    for button in itertools.chain.from_iterable(keyboard):
        if not isinstance(button, dict) or not button.get("text"):
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the "
                "inline keyboard"
            )
        data = button.get("callback_data")
        size = len(str(data).encode("utf-8", "surrogatepass")) if data is not None else 1
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    return markup


def _link_preview_options(params: Params) -> JSON | None:
    options = params.get_json("link_preview_options")
    if options is None and "disable_web_page_preview" in params:
        options = {"is_disabled": params.get_bool("disable_web_page_preview")}
    if options is not None and not isinstance(options, dict):
        raise bad_request("can't parse link preview options JSON object")
    return options


def _reply_to(params: Params) -> int | None:
    reply = params.get_json("reply_parameters")
    if isinstance(reply, dict) and "message_id" in reply:
        return int(reply["message_id"])
    return params.get_int("reply_to_message_id")


def main(argv: list[str] | None = None) -> None:
    """Serve the fake on a fixed port until Ctrl-C, to try a bot by hand against it."""
    import argparse

    parser = argparse.ArgumentParser(description="A loopback fake of the Telegram Bot API")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--limits", action="store_true", help="enforce Telegram's rate limits")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fake = FakeBotApi(
        args.token, port=args.port, rate_limits=RateLimits() if args.limits else None
    )

    async def serve() -> None:
        async with fake:
            logger.info("fake Bot API: set TELEGRAM_BASE_URL=%s", fake.base_url)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "CallbackAnswer",
    "Edit",
    "FakeBotApi",
    "RateLimitEvent",
    "RateLimits",
    "Refusal",
    "SentMessage",
    "SlidingWindowLimiter",
    "Stats",
]

if __name__ == "__main__":
    main()
