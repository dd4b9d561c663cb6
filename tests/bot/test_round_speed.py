"""A round's per-chat work reuses what the chats of a round share, with the same result."""

from __future__ import annotations

import random

from bot.selection import MatchUnions, choose_articles, count_left, count_more
from bot.store import Subscription

QUANTUM = Subscription("topic", "quantum")
SPACE = Subscription("topic", "space")
DRUG = Subscription("keywords", "drug")


def naive_count_more(subscriptions, matches, already_sent, chosen) -> int:
    """The definition: matching ids neither sent before nor chosen now."""
    return len(
        {
            article_id
            for sub in subscriptions
            for article_id in matches.get(sub, ())
            if article_id not in already_sent and article_id not in chosen
        }
    )


def test_count_more_with_shared_unions_agrees_with_its_definition():
    shuffle = random.Random(8)  # fixed seed: the same cases every run
    ids = [f"a{number}" for number in range(60)]
    rank = {article_id: place for place, article_id in enumerate(ids)}
    matches = {
        QUANTUM: ids[0:40],
        SPACE: ids[30:55:2],  # overlaps QUANTUM
        DRUG: [],
    }
    unions = MatchUnions(matches)
    kinds = [[QUANTUM], [SPACE], [QUANTUM, SPACE], [SPACE, QUANTUM], [DRUG], [], [QUANTUM, DRUG]]
    for _ in range(300):
        subs = shuffle.choice(kinds)
        sent = set(shuffle.sample(ids, shuffle.randint(0, 30)))
        sent.add("gone-from-every-list")
        chosen = choose_articles(subs, matches, rank, sent, shuffle.randint(0, 12))
        expected = naive_count_more(subs, matches, sent, chosen)
        assert count_more(subs, matches, sent, chosen, unions=unions) == expected
        assert count_more(subs, matches, sent, chosen) == expected


def test_unions_are_made_once_per_set_of_subscriptions_in_any_order():
    matches = {QUANTUM: ["a", "b"], SPACE: ["b", "c"]}
    unions = MatchUnions(matches)
    first = unions.of([QUANTUM, SPACE])
    assert first == {"a", "b", "c"}
    assert unions.of([SPACE, QUANTUM, SPACE]) is first
    assert unions.of([QUANTUM]) == {"a", "b"}
    assert unions.of([]) == frozenset()


def test_unions_see_subscriptions_added_to_the_matches_later():
    matches: dict[Subscription, list[str]] = {QUANTUM: ["a"]}
    unions = MatchUnions(matches)
    assert unions.of([QUANTUM]) == {"a"}
    matches[SPACE] = ["s"]  # a later batch loads another subscription's matches
    assert unions.of([QUANTUM, SPACE]) == {"a", "s"}


def test_count_left_ignores_ids_outside_the_union_and_counts_each_once():
    union = frozenset({"a", "b", "c", "d"})
    assert count_left(union, {"a", "x"}, ["a", "b", "y"]) == 2
    assert count_left(union, set(), []) == 4
    assert count_left(frozenset(), {"a"}, ["b"]) == 0
