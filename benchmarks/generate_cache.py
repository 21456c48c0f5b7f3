"""Generate a large cache through the store's own write path.

The default shape is 50 spaces, 10,000 discussions and 100,000 replies, with
members and likes, written by apply_sync exactly as synced events would be.
"""

import argparse
import random
import time
from pathlib import Path

from app.records import (
    Discussion,
    Membership,
    RawEvent,
    Reaction,
    Reply,
    RoomBatch,
    RoomState,
    SpaceChild,
)
from app.store import Store
from app.store.writes import apply_sync

WORDS = (
    "review query index latency onboarding design pattern cache deploy test "
    "migration window function pipeline accessibility contrast mentoring sprint "
    "retrospective incident postmortem runbook dashboard metric alert schema"
).split()


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _raw(event_id, room_id, sender, ts, event_type="m.room.message"):
    return RawEvent(event_id, room_id, sender, event_type, ts, None, "{}")


def generate(path: Path, spaces=50, discussions=10_000, replies=100_000, seed=1):
    rng = random.Random(seed)
    people = [f"@person{n}:bench.test" for n in range(400)]
    store = Store(path)
    started = time.perf_counter()
    ts = 1_700_000_000_000
    per_space = discussions // spaces
    replies_per_discussion = replies // discussions
    number = 0
    for space_number in range(spaces):
        space_id = f"!space{space_number}:bench.test"
        board_id = f"!board{space_number}:bench.test"
        space = RoomBatch(space_id, "join")
        space.items = [
            RoomState(space_id, kind="space", name=f"Community {space_number:02d}"),
            SpaceChild(space_id, board_id, None, False),
        ]
        board = RoomBatch(board_id, "join", unread_count=rng.randint(0, 9))
        board.items = [RoomState(board_id, kind="board", name="Discussions")]
        members = rng.sample(people, 40)
        board.items += [
            Membership(board_id, user, "join", f"Person {user[7:-11]}", None)
            for user in members
        ]
        for _ in range(per_space):
            number += 1
            ts += 1000
            root_id = f"$d{number}"
            author = rng.choice(members)
            board.items += [
                _raw(root_id, board_id, author, ts),
                Discussion(
                    root_id,
                    board_id,
                    author,
                    ts,
                    _text(rng, 8),
                    rng.choice(("discussion", "question", "announcement")),
                    (),
                    _text(rng, 60),
                    None,
                ),
            ]
            for reply_number in range(replies_per_discussion):
                ts += 1000
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
                        _text(rng, 40),
                        None,
                        root_id,
                    ),
                ]
            like_id = f"$l{number}"
            board.items += [
                _raw(like_id, board_id, author, ts, "m.reaction"),
                Reaction(like_id, board_id, root_id, rng.choice(members), "👍"),
            ]
        store.write_blocking(apply_sync, [space, board], f"token{space_number}")
    store.close()
    return time.perf_counter() - started


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
