"""The writing commands against a real Synapse and a real Secret Service."""

import asyncio
import io

import pytest

from app import cli
from app import namespace as ns
from app.session import AppSession
from tests.app.outbox_support import quote, server_events
from tests.other_client import OtherClient

pytestmark = [pytest.mark.synapse, pytest.mark.keyring]


def login(server, user, monkeypatch, capsys):
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, user.password)
    arguments = ["login", "--server", server.base_url, "--user", user.localpart]
    assert cli.main(arguments) == cli.EXIT_OK
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    capsys.readouterr()


@pytest.fixture
def signed_in(synapse, make_user, secret_service, monkeypatch, capsys):
    """A user signed in with the CLI who may post in an author's board."""
    author_user = make_user("cli-author", displayname="Ann Author")
    writer = make_user("cli-writer", displayname="Wes Writer")
    author = OtherClient(
        synapse.base_url, author_user.access_token, author_user.user_id
    )
    author.user = author_user
    space, board = author.create_space_with_board("Data Guild", invite=[writer.user_id])
    levels = author.call("GET", f"/rooms/{quote(board)}/state/m.room.power_levels/")
    levels.setdefault("events", {})[ns.ACCEPTED_ANSWER_EVENT] = 0
    author.state(board, "m.room.power_levels", levels)
    joiner = OtherClient(synapse.base_url, writer.access_token, writer.user_id)
    joiner.join(space)
    joiner.join(board)
    joiner.close()
    login(synapse, writer, monkeypatch, capsys)
    yield author, writer, board
    author.close()


def own_events(synapse, author, writer, board, types=("m.room.message",)):
    """Return writer's events in board, read by the author as another client."""
    events = server_events(synapse, author.user, board, types=types)
    return [event for event in events if event["sender"] == writer.user_id]


def test_post_reply_like_and_answer(synapse, signed_in, capsys, monkeypatch):
    author, writer, board = signed_in
    monkeypatch.setattr("sys.stdin", io.StringIO("How do I *rank* rows?\n"))
    arguments = ["post", "data guild", "--title", "Ranking", "--kind", "question"]
    assert cli.main([*arguments, "--tag", "sql", "--tag", "window"]) == cli.EXIT_OK
    output = capsys.readouterr().out
    assert "Queued question 'Ranking'" in output
    assert "Sent 1 item." in output

    [question] = own_events(synapse, author, writer, board)
    assert question["content"]["body"] == "Ranking\n\nHow do I *rank* rows?"
    assert question["content"][ns.DISCUSSION_KEY]["tags"] == ["sql", "window"]
    answer = author.reply(board, question["event_id"], "ROW_NUMBER()")
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK

    assert cli.main(["reply", question["event_id"][:12], "Thanks!"]) == cli.EXIT_OK
    assert cli.main(["like", answer]) == cli.EXIT_OK
    assert cli.main(["like", answer]) == cli.EXIT_OK
    assert "Already liked." in capsys.readouterr().out
    assert cli.main(["answer", question["event_id"], answer]) == cli.EXIT_OK

    mine = own_events(synapse, author, writer, board)
    assert [event["content"]["body"] for event in mine] == [
        "Ranking\n\nHow do I *rank* rows?",
        "Thanks!",
    ]
    [like] = own_events(synapse, author, writer, board, types=("m.reaction",))
    assert like["content"]["m.relates_to"]["event_id"] == answer
    state = author.call(
        "GET",
        f"/rooms/{quote(board)}/state/{ns.ACCEPTED_ANSWER_EVENT}/"
        f"{quote(question['event_id'])}",
    )
    assert state["event_id"] == answer

    assert cli.main(["like", answer, "--remove"]) == cli.EXIT_OK
    assert cli.main(["answer", question["event_id"], "--clear"]) == cli.EXIT_OK
    capsys.readouterr()
    assert cli.main(["show", question["event_id"]]) == cli.EXIT_OK
    shown = capsys.readouterr().out
    assert "Thanks!" in shown
    assert "👍" not in shown


def test_no_send_then_outbox_send(synapse, signed_in, capsys):
    author, writer, board = signed_in
    arguments = ["post", "Data Guild", "--title", "Later", "--body", "Text"]
    assert cli.main([*arguments, "--no-send"]) == cli.EXIT_OK
    assert "not sent" in capsys.readouterr().out
    assert own_events(synapse, author, writer, board) == []

    assert cli.main(["outbox"]) == cli.EXIT_OK
    listing = capsys.readouterr().out
    assert "discussion" in listing
    assert "queued" in listing
    assert "Later" in listing

    assert cli.main(["discussions", "Data Guild"]) == cli.EXIT_OK
    assert "Later" in capsys.readouterr().out

    assert cli.main(["outbox", "send"]) == cli.EXIT_OK
    assert "Sent 1 item." in capsys.readouterr().out
    assert len(own_events(synapse, author, writer, board)) == 1
    assert cli.main(["outbox"]) == cli.EXIT_OK
    assert "everything was sent" in capsys.readouterr().out


def test_invalid_input_exit_codes(signed_in, capsys):
    assert cli.main(["post", "Data Guild", "--title", "Root", "--body", ""]) == 0
    capsys.readouterr()
    assert cli.main(["reply", "$nothing-like-this", "x"]) == cli.EXIT_NOT_FOUND
    assert "No single post" in capsys.readouterr().err
    assert cli.main(["post", "Data Guild", "--title", " ", "--body", "x"]) == 2
    assert "no title" in capsys.readouterr().err
    assert cli.main(["post", "No Such Space", "--title", "T", "--body", "x"]) == 7
    capsys.readouterr()

    assert cli.main(["discussions", "Data Guild"]) == cli.EXIT_OK
    root = capsys.readouterr().out.split()[-1]
    assert cli.main(["reply", root, "  "]) == cli.EXIT_USAGE
    assert "The reply is empty" in capsys.readouterr().err
    assert cli.main(["answer", root]) == cli.EXIT_USAGE
    assert cli.main(["answer", root, "--clear"]) == cli.EXIT_NOT_FOUND
    assert "is not a question" in capsys.readouterr().err


def test_rejected_item_retry_and_discard(synapse, signed_in, capsys):
    author, writer, board = signed_in
    author.call(
        "POST",
        f"/rooms/{quote(board)}/kick",
        json={"user_id": writer.user_id, "reason": "test"},
    )
    arguments = ["post", "Data Guild", "--title", "Kicked", "--body", "x"]
    assert cli.main(arguments) == cli.EXIT_REJECTED
    error = capsys.readouterr().err
    assert "Item 1 failed" in error
    assert "no longer be a member" in error

    assert cli.main(["outbox"]) == cli.EXIT_OK
    listing = capsys.readouterr().out
    assert "failed" in listing
    assert "no longer be a member" in listing

    assert cli.main(["outbox", "retry", "1"]) == cli.EXIT_REJECTED
    capsys.readouterr()
    assert cli.main(["outbox", "retry", "2"]) == cli.EXIT_NOT_FOUND
    assert cli.main(["outbox", "discard", "999"]) == cli.EXIT_NOT_FOUND
    assert "There is no item 999" in capsys.readouterr().err
    assert cli.main(["outbox", "discard", "1"]) == cli.EXIT_OK
    assert "Discarded item 1." in capsys.readouterr().out
    assert cli.main(["outbox"]) == cli.EXIT_OK
    assert "everything was sent" in capsys.readouterr().out


def test_drafts_lists_saved_drafts(signed_in, capsys):
    from app.account import AccountManager
    from app.drafts import save_draft

    _author, _writer, board = signed_in
    assert cli.main(["drafts"]) == cli.EXIT_OK
    assert "No drafts." in capsys.readouterr().out

    async def save():
        app = AppSession(AccountManager().load_session())
        await save_draft(
            app.store, "discussion", board, room_id=board, title="Half-written"
        )
        await app.close()

    asyncio.run(save())
    assert cli.main(["drafts"]) == cli.EXIT_OK
    listing = capsys.readouterr().out
    assert "Half-written" in listing
    assert board in listing


def test_unreachable_server_keeps_item(
    restartable_synapse, secret_service, capsys, monkeypatch
):
    from devtools.synapse import unique_localpart
    from tests.conftest import TEST_PASSWORD, MatrixUser

    server = restartable_synapse
    localpart = unique_localpart("offline")
    server.register(localpart, TEST_PASSWORD)
    user_id, token, device = server.login(localpart, TEST_PASSWORD)
    writer = MatrixUser(user_id, localpart, TEST_PASSWORD, token, device)
    client = OtherClient(server.base_url, token, user_id)
    client.create_space_with_board("Solo")
    client.close()
    login(server, writer, monkeypatch, capsys)
    monkeypatch.setattr("app.matrix.http.BACKOFF_CAP", 0.2)
    server.stop()

    arguments = ["post", "Solo", "--title", "Offline", "--body", "Queued"]
    assert cli.main(arguments) == cli.EXIT_NETWORK
    assert "stay in the outbox" in capsys.readouterr().err
    assert cli.main(["discussions", "Solo"]) == cli.EXIT_OK
    assert "Offline" in capsys.readouterr().out

    server.start()
    assert cli.main(["outbox", "send"]) == cli.EXIT_OK
    assert "Sent 1 item." in capsys.readouterr().out


def test_remove_like_without_like(synapse, signed_in, capsys):
    author, writer, board = signed_in
    question = author.discussion(board, "Unliked", "Nobody likes this yet.")
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    capsys.readouterr()

    assert cli.main(["like", question, "--remove"]) == cli.EXIT_OK
    output = capsys.readouterr().out
    assert "no like to remove" in output
    assert "Like removed." not in output
    assert own_events(synapse, author, writer, board, types=("m.redaction",)) == []
    assert cli.main(["outbox"]) == cli.EXIT_OK
    assert "everything was sent" in capsys.readouterr().out


def test_show_accepted_answer_first(synapse, signed_in, capsys):
    author, writer, board = signed_in
    arguments = ["post", "Data Guild", "--title", "Dedupe", "--kind", "question"]
    assert cli.main([*arguments, "--body", "How do I drop duplicates?"]) == cli.EXIT_OK
    [question] = own_events(synapse, author, writer, board)
    question_id = question["event_id"]
    author.reply(board, question_id, "Use a GROUP BY.")
    accepted = author.reply(board, question_id, "Use DISTINCT ON.")
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    capsys.readouterr()

    assert cli.main(["show", question_id]) == cli.EXIT_OK
    before = capsys.readouterr().out
    assert "Question by Wes Writer" in before
    assert "Unanswered" in before
    assert "Accepted answer" not in before

    assert cli.main(["answer", question_id, accepted]) == cli.EXIT_OK
    capsys.readouterr()
    assert cli.main(["show", question_id]) == cli.EXIT_OK
    shown = capsys.readouterr().out
    header = shown.splitlines()[1]
    assert "Answered" in header
    assert "Unanswered" not in header
    assert shown.count("✓ Accepted answer") == 1
    marker = shown.index("✓ Accepted answer")
    assert marker < shown.index("Use DISTINCT ON.")
    assert shown.index("Use DISTINCT ON.") < shown.index("Use a GROUP BY.")
    assert shown.count("Use DISTINCT ON.") == 1
