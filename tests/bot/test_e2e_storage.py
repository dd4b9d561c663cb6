"""Storage seen from a chat: stored rankings serve every bullet count; re-ranking in place."""

from __future__ import annotations

from sqlalchemy import text

from bot.rerank import rerank_stored
from tests.bot.conftest import write_articles
from tests.support import updates as build

ALICE = build.user(1001, "Alice")

LONG_ARTICLE = """\
    Quantum ring around Pudong opens to banks

    The quantum ring around Pudong carried its first bank transfers on Monday morning.
    Engineers spent two years laying 300 kilometres of fibre under the district.
    Twelve banks signed up before the launch, the operator said.
    Hospitals in Minhang will join the ring in the spring.
    The ring cost 800 million yuan, shared by the city and three state firms.
    Critics asked whether classical encryption would not have been enough.
    Students from Tongji University mapped the fibre routes under the old town.
    A second ring, around Hongqiao airport, is planned for 2028.
    """


def bullets_of(message_text: str, title: str) -> list[str]:
    block = message_text.split(title, 1)[1].split("\n\n", 1)[0]
    return [line for line in block.splitlines() if line.startswith("• ")]


async def test_a_chat_choosing_five_bullets_gets_five_from_the_stored_ranking(
    running_bot, news_folder
):
    write_articles(news_folder, {"ring.txt": LONG_ARTICLE})
    await running_bot.ingest()
    await running_bot.command(ALICE, "subscribe", "pudong")
    reply = await running_bot.command(ALICE, "bullets", "5")
    assert "5" in reply.text

    digest = await running_bot.command(ALICE, "digest")

    assert len(bullets_of(digest.text, "Quantum ring around Pudong opens to banks")) == 5


async def test_stale_rankings_are_re_ranked_and_then_serve_any_bullet_count(
    running_bot, news_folder
):
    write_articles(news_folder, {"ring.txt": LONG_ARTICLE})
    await running_bot.ingest()
    store = running_bot.services.store.store
    with store.engine.begin() as conn:  # as a database from before rankings were kept
        conn.execute(text("UPDATE articles SET ranking = '[]', ranker_version = ''"))
    await running_bot.command(ALICE, "subscribe", "pudong")
    await running_bot.command(ALICE, "bullets", "4")

    assert await rerank_stored(running_bot.services) == 4
    assert await rerank_stored(running_bot.services) == 0  # nothing left to do
    digest = await running_bot.command(ALICE, "digest")

    assert len(bullets_of(digest.text, "Quantum ring around Pudong opens to banks")) == 4
