"""Generate a large cache through the store's own write path.

The default shape is 50 spaces, 10,000 discussions and 100,000 replies, with
400 people as members and likes, written by apply_sync exactly as synced
events would be. The optional parameters add what the search benchmark needs:
text drawn from a larger vocabulary (see benchmarks.corpus), profiles, shared
files and accepted answers. They draw from their own random generators, so
the default cache stays the same for a given seed.
"""

import argparse
import random
import time
from pathlib import Path

from app.records import (
    AcceptedAnswer,
    Discussion,
    Membership,
    RawEvent,
    Reaction,
    Reply,
    RoomBatch,
    RoomState,
    SharedFile,
    SpaceChild,
)
from app.store import Store
from app.store.writes import apply_sync, save_profiles
from benchmarks.corpus import Corpus

WORDS = [
    "review",
    "query",
    "index",
    "latency",
    "onboarding",
    "design",
    "pattern",
    "cache",
    "deploy",
    "test",
    "migration",
    "window",
    "function",
    "pipeline",
    "accessibility",
    "contrast",
    "mentoring",
    "sprint",
    "retrospective",
    "incident",
    "postmortem",
    "runbook",
    "dashboard",
    "metric",
    "alert",
    "schema",
]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _raw(event_id, room_id, sender, ts, event_type="m.room.message"):
    return RawEvent(event_id, room_id, sender, event_type, ts, None, "{}")


def generate(
    path: Path,
    spaces=50,
    discussions=10_000,
    replies=100_000,
    seed=1,
    *,
    people=400,
    members_per_board=40,
    corpus: Corpus | None = None,
    files=0,
    accepted_share=0.0,
    ts_step_ms=1000,
):
    """Write the cache at path and return the seconds it took.

    With corpus, titles and bodies come from it, people get its names and
    profiles, and spaces its topics. files is the expected number of shared
    files, spread at random over the discussions. accepted_share is the share
    of questions with replies that get an accepted answer.
    """
    rng = random.Random(seed)
    extra = random.Random(seed + 1_000_003)
    users = [f"@person{n}:bench.test" for n in range(people)]
    names = corpus.person_names(len(users)) if corpus else None
    store = Store(path)
    started = time.perf_counter()
    ts = 1_700_000_000_000
    per_space = discussions // spaces
    replies_per_discussion = replies // discussions
    file_share = files / discussions
    number = 0
    text = corpus.text if corpus else _text
    for space_number in range(spaces):
        space_id = f"!space{space_number}:bench.test"
        board_id = f"!board{space_number}:bench.test"
        space = RoomBatch(space_id, "join")
        space.items = [
            RoomState(
                space_id,
                kind="space",
                name=f"Community {space_number:02d}",
                topic=corpus.text(extra, 12) if corpus else None,
            ),
            SpaceChild(space_id, board_id, None, False),
        ]
        board = RoomBatch(board_id, "join", unread_count=rng.randint(0, 9))
        board.items = [RoomState(board_id, kind="board", name="Discussions")]
        members = rng.sample(users, members_per_board)
        board.items += [
            Membership(board_id, user, "join", _member_name(user, names), None)
            for user in members
        ]
        for _ in range(per_space):
            number += 1
            ts += ts_step_ms
            root_id = f"$d{number}"
            author = rng.choice(members)
            title = text(rng, 8)
            kind = rng.choice(("discussion", "question", "announcement"))
            board.items += [
                _raw(root_id, board_id, author, ts),
                Discussion(
                    root_id,
                    board_id,
                    author,
                    ts,
                    title,
                    kind,
                    (),
                    text(rng, 60),
                    None,
                ),
            ]
            for reply_number in range(replies_per_discussion):
                ts += ts_step_ms
                reply_id = f"$r{number}_{reply_number}"
                sender = rng.choice(members)
                board.items += [
                    _raw(reply_id, board_id, sender, ts),
                    Reply(
                        reply_id,
                        board_id,
                        root_id,
                        sender,
                        ts,
                        text(rng, 40),
                        None,
                        root_id,
                    ),
                ]
            like_id = f"$l{number}"
            board.items += [
                _raw(like_id, board_id, author, ts, "m.reaction"),
                Reaction(like_id, board_id, root_id, rng.choice(members), "👍"),
            ]
            if (
                kind == "question"
                and replies_per_discussion
                and extra.random() < accepted_share
            ):
                answer = extra.randrange(replies_per_discussion)
                board.items.append(
                    AcceptedAnswer(
                        f"$a{number}",
                        board_id,
                        root_id,
                        f"$r{number}_{answer}",
                        author,
                        ts,
                    )
                )
            if corpus and extra.random() < file_share:
                board.items += _shared_file(extra, corpus, board_id, members, ts)
        store.write_blocking(apply_sync, [space, board], f"token{space_number}")
    if corpus:
        profiles = corpus.profiles(extra, users, names)
        for start in range(0, len(profiles), 1000):
            batch = profiles[start : start + 1000]
            store.write_blocking(save_profiles, batch, time.time())
    store.close()
    return time.perf_counter() - started


def _member_name(user: str, names: list[str] | None) -> str:
    if names is None:
        return f"Person {user[7:-11]}"
    return names[int(user[7:-11])]


def _shared_file(rng: random.Random, corpus: Corpus, room_id, members, ts) -> list:
    event_id = f"$f{ts}"
    name, mimetype = corpus.file_name(rng)
    sender = rng.choice(members)
    return [
        _raw(event_id, room_id, sender, ts),
        SharedFile(
            event_id,
            room_id,
            sender,
            ts,
            name,
            "m.file",
            mimetype,
            rng.randint(2_000, 20_000_000),
            f"mxc://bench.test/{event_id[2:]}",
            None,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path, help="cache file to create")
    parser.add_argument("--spaces", type=int, default=50)
    parser.add_argument("--discussions", type=int, default=10_000)
    parser.add_argument("--replies", type=int, default=100_000)
    args = parser.parse_args()
    args.path.unlink(missing_ok=True)
    seconds = generate(args.path, args.spaces, args.discussions, args.replies)
    size = args.path.stat().st_size / 1e6
    print(f"Generated {args.path} in {seconds:.1f} s ({size:.0f} MB)")


if __name__ == "__main__":
    main()
