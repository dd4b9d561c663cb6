"""The lean Bot API request class against the loopback fake, side by side with PTB's own.

Every outcome a sender acts on must come out of ``LeanRequest`` exactly as out of PTB's
``HTTPXRequest``: results, 429s (``RetryAfter`` and its seconds), migrations, refusals, and
``TimedOut``/``NetworkError`` for slow or dropped answers, after which the next request works.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.lean_request import LeanRequest
from bot.ratelimit import retry_after_seconds
from tests.support.fake_bot_api import FakeBotApi

REQUESTS: dict[str, Callable[..., BaseRequest]] = {"httpx": HTTPXRequest, "lean": LeanRequest}


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@contextlib.asynccontextmanager
async def bot_with(fake: FakeBotApi, kind: str, **options: float) -> AsyncIterator[Bot]:
    request = REQUESTS[kind](connection_pool_size=4, **options)
    bot = Bot(fake.token, base_url=fake.base_url, request=request)
    await bot.initialize()
    try:
        yield bot
    finally:
        await bot.shutdown()


@pytest.fixture(params=sorted(REQUESTS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_messages_go_out_over_few_kept_alive_connections(fake):
    async with bot_with(fake, "lean") as bot:
        sent = [
            await bot.send_message(chat_id=100 + n, text=f"<b>n</b> {n}", parse_mode="HTML")
            for n in range(5)
        ]
        sent += await asyncio.gather(
            *(bot.send_message(chat_id=200 + n, text="x") for n in range(12))
        )
    assert [m.text for m in sent[:5]] == [f"n {n}" for n in range(5)]
    assert fake.stats.accepted == 17
    assert fake.stats.connections <= 4  # the pool's size, not one per request


async def test_a_429_is_the_same_retry_after_as_ptbs(fake, kind):
    fake.flood(1, retry_after=7)
    async with bot_with(fake, kind) as bot:
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(chat_id=1, text="hi")
        assert retry_after_seconds(raised.value) == 7
        assert (await bot.send_message(chat_id=1, text="again")).text == "again"


async def test_refusals_and_migrations_are_ptbs_errors(fake, kind):
    fake.block(2)
    fake.migrate_group(-3, -1_000_000_000_003)
    async with bot_with(fake, kind) as bot:
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(chat_id=2, text="hi")
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(chat_id=-3, text="hi")
        assert migrated.value.new_chat_id == -1_000_000_000_003
        with pytest.raises(BadRequest, match="parse entities"):
            await bot.send_message(chat_id=4, text="<b>open", parse_mode="HTML")


async def test_a_slow_answer_times_out_and_the_next_request_is_not_confused(fake, kind):
    fake.slow_answers(2.0)
    async with bot_with(fake, kind, read_timeout=0.1) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(chat_id=5, text="slow")
        fake.slow_answers(0.0)
        # The late answer to "slow" must not be read as this one's.
        assert (await bot.send_message(chat_id=6, text="next")).chat.id == 6


async def test_a_dropped_connection_is_a_network_error_and_the_next_request_works(fake, kind):
    fake.drop_connections(1.0)
    async with bot_with(fake, kind) as bot:
        with pytest.raises(NetworkError) as raised:
            await bot.send_message(chat_id=7, text="lost")
        assert not isinstance(raised.value, TimedOut)
        fake.drop_connections(0.0)
        assert (await bot.send_message(chat_id=7, text="found")).text == "found"


async def test_a_full_pool_times_out_without_sending(fake):
    fake.slow_answers(3.0)
    request = LeanRequest(connection_pool_size=1, pool_timeout=0.05)
    bot = Bot(fake.token, base_url=fake.base_url, request=request)
    await bot.initialize()
    try:
        first = asyncio.create_task(bot.send_message(chat_id=8, text="first"))
        await fake.wait_for(lambda: fake._stats.requests["sendMessage"] == 1, timeout=10)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await bot.send_message(chat_id=9, text="second")
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
    finally:
        await bot.shutdown()
    assert fake.stats.requests["sendMessage"] == 1


async def test_uploads_go_through_httpx(fake, tmp_path):
    path = tmp_path / "report.txt"
    path.write_text("hello")
    async with bot_with(fake, "lean") as bot:
        with path.open("rb") as handle:
            message = await bot.send_document(chat_id=10, document=handle)
    assert message.document is not None


async def test_a_connection_the_server_closed_while_idle_is_not_reused():
    """A keep-alive connection the server closed meanwhile (an idle timeout) is dropped before
    the next request, which goes out on a new one instead of failing."""
    connections = 0
    hung_up = asyncio.Event()

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        lengths = [line for line in head.lower().split(b"\r\n") if b"content-length" in line]
        await reader.readexactly(int(lengths[0].split(b":")[1]) if lengths else 0)
        body = b'{"ok":true,"result":true}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()  # keep-alive was not refused, but the server hangs up after one answer
        await writer.wait_closed()
        hung_up.set()

    server = await asyncio.start_server(answer_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    request = LeanRequest(connection_pool_size=2)
    await request.initialize()
    try:
        url = f"http://127.0.0.1:{port}/bot1:T/deleteWebhook"
        assert await request.post(url) is True
        await hung_up.wait()
        for _ in range(10):  # a few turns of the loop: the client side reads the end of stream
            await asyncio.sleep(0)
        assert await request.post(url) is True
    finally:
        await request.shutdown()
        server.close()
        await server.wait_closed()
    assert connections == 2
