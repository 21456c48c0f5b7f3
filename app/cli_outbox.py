"""The writing commands of ``commonplace``: post, reply, like, answer, drafts, outbox.

Each writing command queues its action in the outbox first, exactly as the
desktop app does, and then tries once to send everything queued. With
``--no-send`` it only queues. An item that cannot be sent now stays in the
outbox; ``commonplace outbox`` lists it and ``commonplace outbox send`` tries
again.
"""

import asyncio
import logging
import sys

from app.cli import (
    EXIT_AUTH_FAILED,
    EXIT_NETWORK,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    CommandError,
    _error_from,
    _load_session,
    _open_store,
)
from app.cli_format import format_time, print_table

log = logging.getLogger(__name__)

# Attempts per request before a command gives up and leaves the item queued.
SEND_ATTEMPTS = 3


def add_parsers(commands) -> None:
    """Add the writing commands to the ``commonplace`` argument parser."""
    post = commands.add_parser("post", help="start a discussion in a space's board")
    post.add_argument("space", help="space name or room id")
    post.add_argument("--title", required=True, help="title of the discussion")
    post.add_argument(
        "--kind",
        choices=("discussion", "question", "announcement"),
        default="discussion",
        help="kind of post (discussion)",
    )
    post.add_argument(
        "--tag", action="append", default=[], help="a tag; repeat for more"
    )
    post.add_argument("--body", help="text in Markdown (else read from stdin)")
    post.add_argument("--board", help="board name or room id (the space's first)")
    _add_no_send(post)

    reply = commands.add_parser("reply", help="reply in a discussion")
    reply.add_argument("discussion", help="event id (or a unique prefix of it)")
    reply.add_argument("text", help="text in Markdown; '-' reads stdin")
    reply.add_argument("--quote", help="event id of the reply to quote")
    _add_no_send(reply)

    like = commands.add_parser("like", help="like a discussion or reply")
    like.add_argument("event", help="event id (or a unique prefix of it)")
    like.add_argument("--remove", action="store_true", help="remove your like")
    _add_no_send(like)

    answer = commands.add_parser("answer", help="mark a question's accepted answer")
    answer.add_argument("question", help="event id of the question")
    answer.add_argument("reply", nargs="?", help="event id of the accepted reply")
    answer.add_argument("--clear", action="store_true", help="clear the answer")
    _add_no_send(answer)

    commands.add_parser("drafts", help="list unsent drafts")

    outbox = commands.add_parser("outbox", help="list, send, retry or discard items")
    actions = outbox.add_subparsers(dest="outbox_action")
    actions.add_parser("list", help="list the items not sent yet (the default)")
    send = actions.add_parser("send", help="try to send the queued items now")
    send.set_defaults(no_send=False)
    retry = actions.add_parser("retry", help="queue a failed item again")
    retry.add_argument("id", type=int, help="item number from 'commonplace outbox'")
    _add_no_send(retry)
    discard = actions.add_parser("discard", help="remove a failed or unsent item")
    discard.add_argument("id", type=int, help="item number from 'commonplace outbox'")


def _add_no_send(parser) -> None:
    parser.add_argument("--no-send", action="store_true", help="only queue; send later")


def _run_with_session(work) -> int:
    """Run work(app_session) on a new event loop and map core errors to exits."""
    from app.compose import ContentRejected
    from app.outbox import ItemConflict, NotAllowed, TargetNotFound
    from app.session import AppSession

    session = _load_session()

    async def run() -> int:
        app_session = AppSession(session)
        try:
            return await work(app_session)
        finally:
            await app_session.close()

    try:
        return asyncio.run(run())
    except ContentRejected as error:
        raise CommandError(error.message, EXIT_USAGE) from error
    except TargetNotFound as error:
        raise CommandError(error.message, EXIT_NOT_FOUND) from error
    except NotAllowed as error:
        raise CommandError(error.message, EXIT_REJECTED) from error
    except ItemConflict as error:
        raise CommandError(error.message, EXIT_USAGE) from error
    except CommandError:
        raise
    except Exception as error:  # noqa: BLE001 - mapped or re-raised by _error_from
        raise _error_from(error) from error


async def _send_queued(app_session, args) -> int:
    """Try once to send the outbox; print the outcome and return the exit code."""
    if args.no_send:
        print("Queued; not sent (--no-send). Run 'commonplace outbox send' later.")
        return EXIT_OK
    report = await app_session.outbox_worker.drain(max_attempts=SEND_ATTEMPTS)
    if report.sent:
        await _store_echoes(app_session)
    failed = [
        item for item in app_session.outbox.list_items() if item.state == "failed"
    ]
    if report.signed_out is not None:
        print(
            f"{report.signed_out.message} The items stay in the outbox.",
            file=sys.stderr,
        )
        return EXIT_AUTH_FAILED
    if report.offline_rooms:
        print(
            "The server could not be reached, so the items stay in the outbox. "
            "Run 'commonplace outbox send' to try again.",
            file=sys.stderr,
        )
        return EXIT_NETWORK
    if failed:
        for item in failed:
            print(f"Item {item.id} failed: {item.error}", file=sys.stderr)
        print(
            "Run 'commonplace outbox retry ID' or 'commonplace outbox discard ID'.",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    print(f"Sent {report.sent} item{'s' if report.sent != 1 else ''}.")
    return EXIT_OK


async def _store_echoes(app_session) -> None:
    """Sync once so that the cache contains the server's copies of what was sent."""
    from app.matrix.errors import MatrixError

    try:
        await app_session.sync.sync_once()
    except MatrixError as error:
        # The items are sent; the next sync stores them.
        log.warning("Sync after sending failed: %s", error.message)


def _read_text(value: str | None) -> str:
    if value is not None and value != "-":
        return value
    if sys.stdin.isatty():
        raise CommandError(
            "No text given: pass it as an argument or on standard input.", EXIT_USAGE
        )
    return sys.stdin.read()


def _find_post(conn, query: str) -> str:
    """Return the id of the post that query (an id or a unique prefix) names."""
    from app.store import outbox_queries

    if outbox_queries.find_post(conn, query) is not None:
        return outbox_queries.resolve_id(conn, query)
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = conn.execute(
        "SELECT event_id FROM discussions WHERE event_id LIKE :prefix ESCAPE '\\' "
        "UNION SELECT event_id FROM replies WHERE event_id LIKE :prefix ESCAPE '\\' "
        "LIMIT 2",
        {"prefix": escaped + "%"},
    ).fetchall()
    if len(rows) == 1:
        return rows[0][0]
    raise CommandError(
        f"No single post '{query}' in the cache. Run 'commonplace show DISCUSSION' "
        "to list ids, or 'commonplace sync --once' first.",
        EXIT_NOT_FOUND,
    )


def _find_board(conn, space_query: str, board_query: str | None) -> str:
    from app.store import queries
    from app.text import clean_name

    space = queries.find_space(conn, space_query)
    if space is None:
        raise CommandError(
            f"No space named '{space_query}' in the cache. Run 'commonplace spaces' "
            "to list them.",
            EXIT_NOT_FOUND,
        )
    boards = [
        room
        for room in queries.list_space_rooms(conn, space.room_id)
        if room.kind == "board" and room.membership == "join"
    ]
    if board_query is not None:
        folded = board_query.casefold()
        boards = [
            room
            for room in boards
            if room.room_id == board_query or (room.name or "").casefold() == folded
        ]
    if not boards:
        raise CommandError(
            f"No board{f' named {board_query!r}' if board_query else ''} that you "
            f"have joined in {clean_name(space.name, space.room_id)}.",
            EXIT_NOT_FOUND,
        )
    return boards[0].room_id


def command_post(args) -> int:
    body = args.body if args.body is not None else _read_text(None)

    async def work(app_session) -> int:
        board = _find_board(app_session.store.reader(), args.space, args.board)
        local = await app_session.outbox.queue_discussion(
            board, args.title, body, kind=args.kind, tags=args.tag
        )
        print(f"Queued {args.kind} '{args.title}' as {local}.")
        return await _send_queued(app_session, args)

    return _run_with_session(work)


def command_reply(args) -> int:
    text = _read_text(args.text)

    async def work(app_session) -> int:
        conn = app_session.store.reader()
        root = _find_post(conn, args.discussion)
        quote = _find_post(conn, args.quote) if args.quote else None
        local = await app_session.outbox.queue_reply(root, text, quote_id=quote)
        print(f"Queued reply as {local}.")
        return await _send_queued(app_session, args)

    return _run_with_session(work)


def _has_own_like(app_session, post_id: str) -> bool:
    """Return whether the user has a stored like or an unfinished one on post_id."""
    from app import namespace as ns
    from app.store import outbox_queries, outbox_store

    conn = app_session.store.reader()
    unfinished = outbox_queries.unfinished_items_for(
        conn, outbox_store.LIKE, target_id=post_id
    )
    stored = outbox_queries.own_reactions(
        conn, post_id, app_session.user_id, ns.LIKE_KEY
    )
    return bool(unfinished or stored)


def command_like(args) -> int:
    async def work(app_session) -> int:
        post = _find_post(app_session.store.reader(), args.event)
        if args.remove:
            if not _has_own_like(app_session, post):
                print("You have not liked this post, so there is no like to remove.")
                return EXIT_OK
            queued = await app_session.outbox.queue_unlike(post)
            # An empty list means the like was still unsent and was dropped
            # from the outbox, so nothing has to reach the server.
            print("Queued removal of your like." if queued else "Like removed.")
        else:
            queued = await app_session.outbox.queue_like(post)
            print("Queued like." if queued else "Already liked.")
        return await _send_queued(app_session, args)

    return _run_with_session(work)


def command_answer(args) -> int:
    if args.clear == bool(args.reply):
        raise CommandError(
            "Give either the accepted reply's id or --clear.", EXIT_USAGE
        )

    async def work(app_session) -> int:
        conn = app_session.store.reader()
        question = _find_post(conn, args.question)
        reply = _find_post(conn, args.reply) if args.reply else None
        await app_session.outbox.queue_accept_answer(question, reply)
        print("Queued: clear the accepted answer." if reply is None else "Queued.")
        return await _send_queued(app_session, args)

    return _run_with_session(work)


def _snippet(title: str | None, body: str | None) -> str:
    text = title or " ".join((body or "").split())
    return text or "-"


def command_drafts(args) -> int:
    from app import drafts

    session = _load_session()
    store = _open_store(session)
    saved = drafts.list_drafts(store)
    store.close()
    if not saved:
        print("No drafts.")
        return EXIT_OK
    rows = [
        [
            draft.composer,
            _snippet(draft.title, draft.body),
            format_time(draft.updated_at * 1000),
            draft.target_id,
        ]
        for draft in saved
    ]
    print_table(["FOR", "TEXT", "SAVED", "TARGET"], rows)
    return EXIT_OK


def command_outbox(args) -> int:
    action = args.outbox_action or "list"
    if action == "list":
        return _list_outbox()

    async def work(app_session) -> int:
        outbox = app_session.outbox
        if action == "retry":
            await outbox.retry(args.id)
            print(f"Item {args.id} queued again.")
        elif action == "discard":
            removed = await outbox.discard(args.id)
            print(
                f"Discarded item{'s' if len(removed) > 1 else ''} "
                f"{', '.join(map(str, removed))}."
            )
            return EXIT_OK
        return await _send_queued(app_session, args)

    return _run_with_session(work)


def _list_outbox() -> int:
    from app.store import outbox_queries

    session = _load_session()
    store = _open_store(session)
    items = outbox_queries.list_items(store.reader())
    store.close()
    if not items:
        print("The outbox is empty: everything was sent.")
        return EXIT_OK
    rows = []
    for item in items:
        state = item.state
        if state == "queued" and item.waiting_for:
            state = "waiting"
        elif state == "sent":
            state = "sent, not synced"
        rows.append(
            [
                str(item.id),
                item.action.replace("_", " "),
                state,
                _snippet(item.title, item.body),
                format_time(item.created_at * 1000),
            ]
        )
    print_table(["ID", "ACTION", "STATE", "TEXT", "QUEUED"], rows)
    for item in items:
        if item.error:
            print(f"\nItem {item.id}: {item.error}")
    return EXIT_OK


COMMANDS = {
    "post": command_post,
    "reply": command_reply,
    "like": command_like,
    "answer": command_answer,
    "drafts": command_drafts,
    "outbox": command_outbox,
}
