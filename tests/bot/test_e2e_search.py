"""Search end to end: results come from the database, and so does "More" after a restart."""

from __future__ import annotations

from tests.bot.conftest import start_bot, stop_bot
from tests.support import updates as build

ALICE = build.user(1001, "Alice")


async def test_more_results_work_after_a_restart_without_any_rebuild(running_bot):
    first = await running_bot.command(ALICE, "search", "nine cities")
    assert "<b>nine cities</b>" in first.text
    more = first.callback_data()
    assert len(more) == 1

    # Another process (a restart here, a replica in production) answers the button press.
    await stop_bot(running_bot.application)
    running_bot.application = await start_bot(
        running_bot.fake, running_bot.config, running_bot.clock
    )
    running_bot.fake.press_button(ALICE["id"], first.message_id, more[0], ALICE)
    second = (await running_bot.fake.wait_for_messages(ALICE["id"]))[0]
    assert "2 of 2" in second.text
    assert "Satellite internet cluster" in second.text


async def test_an_expired_search_says_so(running_bot):
    from datetime import timedelta

    first = await running_bot.command(ALICE, "search", "nine cities")
    running_bot.clock.now += timedelta(days=2)
    query_id = running_bot.fake.press_button(
        ALICE["id"], first.message_id, first.callback_data()[0], ALICE
    )
    answer = await running_bot.fake.wait_for_callback_answer(query_id)
    assert "expired" in answer.text


async def test_chinese_words_are_found_inside_unspaced_text(running_bot):
    from tests.bot.conftest import write_articles

    folder = running_bot.config.parent / "news"
    write_articles(folder, {"shanghai.txt": "上海量子网络\n\n长三角量子通信网络正式开通。\n"})
    await running_bot.ingest()
    reply = await running_bot.command(ALICE, "search", "通信")
    assert "上海量子网络" in reply.text
