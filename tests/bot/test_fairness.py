"""Fair update processing: one chat's flood neither starves other chats nor delays shutdown."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.fairness import FairUpdateProcessor
from tests.bot.conftest import eventually, stop_bot
from tests.support import updates as build

FLOODER = build.user(2001, "Flo")
OTHER = build.user(2002, "Otto")
FLOOD = 300  # more than PTB's 256 concurrent updates


def flood(fake, user: dict, count: int = FLOOD) -> None:
    for _ in range(count):
        fake.private_command(user, "help")


async def test_a_flooding_chat_does_not_hold_up_other_chats(running_bot):
    fake = running_bot.fake
    flood(fake, FLOODER)
    await eventually(lambda: fake.pending_updates == 0, what="the flood fetched")
    fake.private_command(OTHER, "help")
    [answer] = await fake.wait_for_messages(OTHER["id"], timeout=30)
    assert answer.text.startswith("<b>Commands</b>")
    # The flooder's answers come at 1/s; the other chat did not wait behind them.
    assert len(fake.sent(FLOODER["id"])) < 10


async def test_a_flood_is_shed_and_the_chat_told_once_to_slow_down(running_bot):
    fake = running_bot.fake
    processor = running_bot.application.update_processor
    flood(fake, FLOODER)
    await eventually(lambda: processor.stats.shed >= FLOOD - 1 - processor.backlog, 30, "shed")
    await eventually(lambda: len(fake.sent(FLOODER["id"])) >= 2 + processor.backlog, 30, "done")
    texts = [m.text for m in fake.sent(FLOODER["id"])]
    assert sum("faster than I can answer" in text for text in texts) == 1
    assert sum(text.startswith("<b>Commands</b>") for text in texts) == 1 + processor.backlog
    assert processor.stats.shed == FLOOD - 1 - processor.backlog


async def test_stopping_drops_a_backlog_instead_of_answering_it(fake, tmp_path, news_folder):
    from tests.bot.conftest import Clock, start_bot, write_config

    application = await start_bot(fake, write_config(tmp_path), Clock())
    processor = application.update_processor
    group = build.group(-500, "Busy group")
    for number in range(40):  # a group: 20 answers a minute, so a backlog takes minutes
        fake.command(group, build.user(3000 + number, f"U{number}"), "help")
    await eventually(lambda: fake.pending_updates == 0, what="the backlog fetched")
    await eventually(lambda: len(fake.sent(group["id"])) >= 1, 30, "a first answer")
    await asyncio.wait_for(stop_bot(application), timeout=120)
    assert len(fake.sent(group["id"])) < 10
    assert processor.stats.dropped_at_stop > 0


# -- the processor on its own -----------------------------------------------------------------


def private_update(chat_id: int, update_id: int) -> Update:
    user = build.user(chat_id, "U")
    payload = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": build.private_chat(user),
            "from": user,
            "text": "/help",
        },
    }
    return Update.de_json(payload, None)


async def test_lanes_run_a_chats_updates_in_order_one_at_a_time():
    processor = FairUpdateProcessor(workers=4, backlog=10)
    await processor.initialize()
    gate = asyncio.Event()
    order: list[int] = []
    running = 0
    most = 0

    async def handle(number: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await gate.wait()
        order.append(number)
        running -= 1

    tasks = [
        asyncio.create_task(processor.process_update(private_update(7, n), handle(n)))
        for n in range(8)
    ]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*tasks)
    assert order == list(range(8))
    assert most == 1


async def test_workers_are_shared_and_one_chat_holds_at_most_one():
    processor = FairUpdateProcessor(workers=2, backlog=100)
    await processor.initialize()
    release = asyncio.Event()
    started: list[int] = []

    async def handle(chat_id: int) -> None:
        started.append(chat_id)
        if chat_id == 1:
            await release.wait()

    busy = [
        asyncio.create_task(processor.process_update(private_update(1, n), handle(1)))
        for n in range(50)
    ]
    others = [
        asyncio.create_task(
            processor.process_update(private_update(2 + n, 100 + n), handle(2 + n))
        )
        for n in range(5)
    ]
    await asyncio.gather(*others)  # all done while chat 1's first update still blocks
    assert started.count(1) == 1
    release.set()
    await asyncio.gather(*busy)
    assert started.count(1) == 50


# -- many chats flooding at once (the workers and the rate limiter together) -------------------


async def test_a_quiet_chats_reply_goes_before_flooding_chats_next_ones(tmp_path, news_folder):
    """40 chats each send 6 commands at once (more chats than workers), then a quiet chat
    sends one. Its reply takes the next free slot instead of queueing behind every
    flooder's first reply (over a second at 30/s). Time is the limiter's fake clock."""
    from bot.app import build_application
    from bot.config import load_settings
    from tests.bot.conftest import TOKEN, write_config
    from tests.bot.test_ratelimit import FakeClock, Recorder, settle

    settings = load_settings(write_config(tmp_path), environ={})
    application = build_application(settings, TOKEN)
    processor = application.update_processor
    limiter = application.bot.rate_limiter
    clock = FakeClock()
    limiter._clock = clock
    recorder = Recorder()
    granted_at: dict[int, list[float]] = {}

    async def reply(chat_id: int) -> None:
        await limiter.process_request(
            recorder.for_chat(chat_id, "reply"), (), {}, "sendMessage", {"chat_id": chat_id}, None
        )
        granted_at.setdefault(chat_id, []).append(clock.now)

    flooders = range(1, 41)
    tasks = [
        asyncio.create_task(
            processor.process_update(private_update(chat, 100 * chat + n), reply(chat))
        )
        for n in range(1 + processor.backlog)  # as much as a lane holds: nothing is shed
        for chat in flooders
    ]
    await settle()
    quiet = 999
    tasks.append(
        asyncio.create_task(processor.process_update(private_update(quiet, 1), reply(quiet)))
    )
    await settle()
    while quiet not in granted_at and clock.now < 10:
        clock.now += 0.001
        limiter._pump()
        await settle()

    assert granted_at[quiet][0] <= 0.2  # a few slots at 30/s, not after 40 flooders' replies
    assert all(len(granted_at.get(chat, [])) <= 1 for chat in flooders)
    await limiter.shutdown()  # the flooders' replies still waiting are cancelled
    processor.stop_grace = 0
    await processor.stop()  # ... and their lanes' backlogs dropped
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_free_worker_goes_to_the_chat_that_sent_the_fewest_updates():
    processor = FairUpdateProcessor(workers=1, backlog=10)
    await processor.initialize()
    release = asyncio.Event()
    started: list[int] = []

    async def handle(chat_id: int) -> None:
        started.append(chat_id)
        await release.wait()

    tasks = [  # chat 1 holds the only worker; chats 2 and 3 wait, 2 with more updates
        asyncio.create_task(
            processor.process_update(private_update(chat, 10 * chat + n), handle(chat))
        )
        for chat, count in ((1, 1), (2, 4), (3, 1))
        for n in range(count)
    ]
    await asyncio.sleep(0)
    assert processor.busy(2) == 4 and processor.busy(3) == 1 and processor.busy(4) == 0
    release.set()
    await asyncio.gather(*tasks)
    assert started[:3] == [1, 3, 2]
