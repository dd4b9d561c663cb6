"""Outbox claims: several senders (replicas) share one outbox, a chat held by one at a time.

Each test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL; the concurrent-claim
test needs PostgreSQL (SQLite serves one process).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.store import ChatDefaults, Store
from bot.store.schema import outbox
from summaries.models import Article, Digest

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=15)


def queue_digests(store: Store, chats: range | list[int], parts: int = 2, round_: int = 1) -> None:
    for chat_id in chats:
        title = f"round {round_} for {chat_id}"
        article = Article.create(source="s", title=title, paragraphs=["Body."], url=None)
        store.add_articles([(article, Digest(article.id, ("A bullet.",)))], NOW)
        store.ensure_chat(chat_id, "private", f"chat {chat_id}", ChatDefaults(), NOW)
        texts = [f"{chat_id}/{part}" for part in range(1, parts + 1)]
        assert store.enqueue_digest(chat_id, [article.id], texts, False, NOW, None)


def test_a_chat_is_claimed_whole_and_by_one_sender(store):
    queue_digests(store, range(1, 5))
    mine = store.claim_messages("a", NOW, NOW + LEASE, 2)
    assert [m.text for m in mine] == ["1/1", "1/2", "2/1", "2/2"]
    theirs = store.claim_messages("b", NOW, NOW + LEASE, 10)
    assert {m.chat_id for m in theirs} == {3, 4}
    # Its own claims come back to the owner (renewed); nobody else gets them.
    assert {m.chat_id for m in store.claim_messages("a", NOW, NOW + LEASE, 10)} == {1, 2}
    assert store.claim_messages("c", NOW, NOW + LEASE, 10) == []


def test_a_later_digest_of_a_held_chat_is_not_given_to_another_sender(store):
    queue_digests(store, [1])
    store.claim_messages("a", NOW, NOW + LEASE, 10)
    queue_digests(store, [1], parts=1, round_=2)  # a later round queues more for the same chat
    assert store.claim_messages("b", NOW, NOW + LEASE, 10) == []
    assert [m.text for m in store.claim_messages("a", NOW, NOW + LEASE, 10)] == [
        "1/1",
        "1/2",
        "1/1",
    ]


def test_claims_of_a_dead_sender_are_taken_when_the_lease_runs_out(store):
    queue_digests(store, [1, 2])
    store.claim_messages("dead", NOW, NOW + LEASE, 10)
    assert store.claim_messages("b", NOW + LEASE - timedelta(seconds=1), NOW + 2 * LEASE, 10) == []
    later = NOW + LEASE + timedelta(seconds=1)
    taken = store.claim_messages("b", later, later + LEASE, 10)
    assert [m.text for m in taken] == ["1/1", "1/2", "2/1", "2/2"]


def test_renewal_keeps_and_release_gives_back(store):
    queue_digests(store, [1])
    store.claim_messages("a", NOW, NOW + LEASE, 10)
    assert store.renew_claims("a", NOW + 3 * LEASE) == {1}
    assert store.claim_messages("b", NOW + 2 * LEASE, NOW + 3 * LEASE, 10) == []
    store.release_claims("a")
    assert len(store.claim_messages("b", NOW, NOW + LEASE, 10)) == 2


def test_a_retry_releases_the_chat_and_keeps_its_order(store):
    queue_digests(store, [1, 2])
    first, _second, *_ = store.claim_messages("a", NOW, NOW + LEASE, 1)
    store.mark_retry(first.id, NOW + timedelta(minutes=1), "429")
    # Not due yet: nobody may send part 2 before part 1.
    assert {m.chat_id for m in store.claim_messages("b", NOW, NOW + LEASE, 10)} == {2}
    due = store.claim_messages("b", NOW + timedelta(minutes=1), NOW + 2 * LEASE, 10)
    assert [m.text for m in due if m.chat_id == 1] == ["1/1", "1/2"]
    with store.engine.connect() as conn:
        owners = set(conn.scalars(select(outbox.c.claimed_by).where(outbox.c.chat_id == 1)))
    assert owners == {"b"}


@pytest.mark.postgres
def test_concurrent_claimers_take_disjoint_chats(postgres_base_url):
    from tests.conftest import postgres_schema

    with postgres_schema(postgres_base_url) as url:
        setup = Store.from_url(url)
        setup.migrate()
        queue_digests(setup, range(1, 201), parts=1)
        setup.close()
        stores = [Store.from_url(url) for _ in range(4)]
        claimed: dict[str, list[int]] = {}
        barrier = threading.Barrier(len(stores))

        def claim(index: int) -> None:
            owner = f"replica-{index}"
            barrier.wait()
            got: list[int] = []
            for _ in range(20):
                page = stores[index].claim_messages(owner, NOW, NOW + LEASE, 7)
                got += [m.chat_id for m in page]
                for message in page:  # sent: the next claim takes new chats
                    stores[index].mark_sent(message.id, 1, NOW)
            claimed[owner] = got

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for store in stores:
            store.close()
    owners_of: dict[int, set[str]] = {}
    for owner, chat_ids in claimed.items():
        for chat_id in chat_ids:
            owners_of.setdefault(chat_id, set()).add(owner)
    assert all(len(owners) == 1 for owners in owners_of.values())
    assert set(owners_of) == set(range(1, 201))
