"""Storage seen from a chat: stored rankings serve every bullet count; re-ranking in place."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from bot.rerank import rerank_stored
from summaries.models import Article, Digest
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


def flood_items(count: int, fetched_at: datetime) -> list[tuple[Article, Digest]]:
    items = []
    for number in range(count):
        article = Article.create(
            source="https://big.example/feed",
            title=f"Rocket bulletin {number}",
            paragraphs=[f"Satellite launch number {number} went to plan."],
            url=f"https://big.example/{number}",
            published=fetched_at,
        )
        items.append((article, Digest(article.id, ("A launch.",), ("satellite",))))
    return items


async def test_a_5000_article_source_does_not_crowd_a_small_one_out_of_digests(running_bot):
    store = running_bot.services.store
    running_bot.clock.now += timedelta(minutes=5)
    await store.add_articles(flood_items(5000, running_bot.clock.now), running_bot.clock.now)
    bob = build.user(1002, "Bob")
    await running_bot.command(ALICE, "subscribe", "culture")
    await running_bot.command(bob, "subscribe", '"six centuries"')

    for user in (ALICE, bob):
        # The first keyword match tokenises the whole window: allow a loaded machine time.
        running_bot.fake.command(build.private_chat(user), user, "digest")
        [digest] = await running_bot.fake.wait_for_messages(user["id"], timeout=120)
        assert "Museum opens a painting show" in digest.text, user
        assert "Rocket bulletin" not in digest.text

    await running_bot.command(ALICE, "subscribe", "satellite")
    digest = await running_bot.command(ALICE, "digest")
    assert "Rocket bulletin" in digest.text and "· 10 articles" in digest.text
