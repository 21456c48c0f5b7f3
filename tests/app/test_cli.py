"""The commonplace command against a real Synapse and a real Secret Service."""

import pytest

from app import __version__, cli
from tests.other_client import OtherClient

pytestmark = [pytest.mark.synapse, pytest.mark.keyring]


@pytest.fixture
def signed_in(synapse, make_user, secret_service, monkeypatch, capsys):
    """A user who shares a space with an author and has signed in with the CLI."""
    author_user = make_user("cli-author", displayname="Ann Author")
    reader = make_user("cli-reader", displayname="Rita Reader")
    author = OtherClient(
        synapse.base_url, author_user.access_token, author_user.user_id
    )
    space, board = author.create_space_with_board("Data Guild", invite=[reader.user_id])
    joiner = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    joiner.join(space)
    joiner.join(board)
    joiner.close()
    root = author.discussion(board, "Window functions?", "How do I rank rows?")
    author.reply(board, root, "ROW_NUMBER() does it.")
    author.like(board, root)
    author.close()

    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, reader.password)
    arguments = ["login", "--server", synapse.base_url, "--user", reader.localpart]
    assert cli.main(arguments) == cli.EXIT_OK
    capsys.readouterr()
    return reader, root


def test_version_prints_version(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_reading_commands_show_synced_content(signed_in, capsys):
    reader, root = signed_in
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    capsys.readouterr()

    assert cli.main(["spaces"]) == cli.EXIT_OK
    assert "Data Guild" in capsys.readouterr().out

    assert cli.main(["discussions", "data guild"]) == cli.EXIT_OK
    listing = capsys.readouterr().out
    assert "Window functions?" in listing
    assert "Ann Author" in listing

    assert cli.main(["show", root]) == cli.EXIT_OK
    shown = capsys.readouterr().out
    assert "How do I rank rows?" in shown
    assert "ROW_NUMBER() does it." in shown
    assert "👍 1" in shown

    assert cli.main(["people"]) == cli.EXIT_OK
    assert "Rita Reader" in capsys.readouterr().out

    assert cli.main(["status"]) == cli.EXIT_OK
    status = capsys.readouterr().out
    assert reader.user_id in status
    assert "OS keyring" in status
    assert "1 spaces, 1 discussions, 1 replies" in status


def test_reading_needs_no_network(signed_in, capsys, monkeypatch):
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    capsys.readouterr()

    def no_network(*args, **kwargs):
        raise AssertionError("a reading command used the network")

    monkeypatch.setattr("httpx.AsyncClient.send", no_network)
    assert cli.main(["spaces"]) == cli.EXIT_OK
    assert cli.main(["people"]) == cli.EXIT_OK
    assert "Data Guild" in capsys.readouterr().out


def test_unknown_space_exits_not_found(signed_in, capsys):
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    assert cli.main(["discussions", "No Such Space"]) == cli.EXIT_NOT_FOUND
    assert "No space named 'No Such Space'" in capsys.readouterr().err


def test_logout_forgets_the_session(signed_in, capsys):
    assert cli.main(["logout", "--wipe-cache"]) == cli.EXIT_OK
    assert "deleted the cached content" in capsys.readouterr().out
    assert cli.main(["spaces"]) == cli.EXIT_NOT_SIGNED_IN
    assert "Not signed in" in capsys.readouterr().err


def test_wrong_password_exits_auth_failed(
    synapse, make_user, secret_service, capsys, monkeypatch
):
    user = make_user("cli-wrong")
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, "not the password")
    code = cli.main(["login", "--server", synapse.base_url, "--user", user.localpart])
    assert code == cli.EXIT_AUTH_FAILED
    assert "password" in capsys.readouterr().err.lower()


def test_unreachable_server_exits_network(secret_service, capsys, monkeypatch):
    from devtools.synapse import free_port

    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, "x")
    url = f"http://127.0.0.1:{free_port()}"
    assert cli.main(["login", "--server", url, "--user", "ann"]) == cli.EXIT_NETWORK
    assert capsys.readouterr().err.strip()


def test_missing_keyring_exits_keyring(synapse, make_user, capsys, monkeypatch):
    # The suite's default keyring backend always fails, like a machine with none.
    user = make_user("cli-nokeyring")
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, user.password)
    code = cli.main(["login", "--server", synapse.base_url, "--user", user.localpart])
    assert code == cli.EXIT_KEYRING
    error = capsys.readouterr().err
    assert "keyring" in error.lower()
    # The command line has no sign-in without a keyring to offer instead.
    assert "session only" not in error


def test_not_signed_in_exits_three(capsys):
    assert cli.main(["status"]) == cli.EXIT_NOT_SIGNED_IN


def test_show_strips_terminal_escapes(
    synapse, make_user, secret_service, capsys, monkeypatch
):
    author_user = make_user("cli-escape-author")
    reader = make_user("cli-escape-reader")
    author = OtherClient(
        synapse.base_url, author_user.access_token, author_user.user_id
    )
    space, board = author.create_space_with_board("Escapes", invite=[reader.user_id])
    joiner = OtherClient(synapse.base_url, reader.access_token, reader.user_id)
    joiner.join(space)
    joiner.join(board)
    joiner.close()
    root = author.discussion(board, "Escapes", "clear\x1b[2J \x1b]8;;http://x\x07link")
    author.close()
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, reader.password)
    cli.main(["login", "--server", synapse.base_url, "--user", reader.localpart])
    cli.main(["sync", "--once"])
    capsys.readouterr()

    assert cli.main(["show", root]) == cli.EXIT_OK
    shown = capsys.readouterr().out
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "link" in shown


def test_show_accepts_prefix_with_underscore(signed_in, capsys):
    _reader, root = signed_in
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    capsys.readouterr()
    assert cli.main(["show", root[:-1]]) == cli.EXIT_OK
    assert "Window functions?" in capsys.readouterr().out


def test_zero_limit_is_a_usage_error(signed_in, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["discussions", "Data Guild", "--limit", "0"])
    assert exited.value.code == cli.EXIT_USAGE


def test_empty_user_is_a_usage_error(capsys):
    assert cli.main(["login", "--server", "http://127.0.0.1:9", "--user", " "]) == 2


def test_search_finds_synced_posts_offline(signed_in, capsys, monkeypatch):
    _reader, root = signed_in
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    capsys.readouterr()

    def no_network(*args, **kwargs):
        raise AssertionError("search used the network")

    monkeypatch.setattr("httpx.AsyncClient.send", no_network)
    assert cli.main(["search", "row"]) == cli.EXIT_OK
    found = capsys.readouterr().out
    assert "Discussions and questions (1)" in found
    assert "Window functions?" in found
    assert "Replies (1)" in found
    assert "ROW_NUMBER() does it." in found
    assert f"in {root}" in found

    assert cli.main(["search", "rank", "in:data", "from:ann"]) == cli.EXIT_OK
    assert root in capsys.readouterr().out

    assert cli.main(["search", "ann", "author"]) == cli.EXIT_OK
    people = capsys.readouterr().out.split("People (")[1]
    ann = next(word for word in people.split() if word.startswith("@cli-author"))
    assert people.count(ann) == 1

    assert cli.main(["search", "nothing-like-this"]) == cli.EXIT_NOT_FOUND
    assert "Nothing in the cache matches" in capsys.readouterr().err

    assert cli.main(["search", "is:cake"]) == cli.EXIT_NOT_FOUND
    assert "is:cake is not a filter" in capsys.readouterr().err


def test_search_arguments_keep_their_spaces():
    from app.cli_search import query_from_arguments

    assert query_from_arguments(["in:Data Guild", "sql"]) == 'in:"Data Guild" sql'
    assert query_from_arguments(["release notes"]) == '"release notes"'
    assert query_from_arguments(['in:"Data Guild"', "a"]) == 'in:"Data Guild" a'
