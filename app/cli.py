"""The ``commonplace`` command: the GUI's core from a terminal.

Reading commands (spaces, discussions, show, people, status) work offline from
the cache. Writing commands live in ``app.cli_outbox``. Exit codes are listed
in EXIT_CODES and in the README.
"""

import argparse
import asyncio
import datetime
import getpass
import logging
import os
import shutil
import sys
import textwrap

from app import __version__
from app.cli_format import count_label, format_time, positive_int, print_table

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_SIGNED_IN = 3
EXIT_AUTH_FAILED = 4
EXIT_NETWORK = 5
EXIT_KEYRING = 6
EXIT_NOT_FOUND = 7
EXIT_CACHE = 8
EXIT_REJECTED = 9
EXIT_NO_DISPLAY = 10
EXIT_SELF_TEST_FAILED = 11
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_ERROR: "unexpected error (details in the log file)",
    EXIT_USAGE: "invalid command line, or a server that the policy does not allow",
    EXIT_NOT_SIGNED_IN: "not signed in: run 'commonplace login'",
    EXIT_AUTH_FAILED: "wrong user name or password, or the session has ended",
    EXIT_NETWORK: "server not found, unreachable, not a Matrix server, or TLS failed",
    EXIT_KEYRING: "the keyring is unavailable or locked",
    EXIT_NOT_FOUND: "no such space, discussion or post in the cache, or outbox item",
    EXIT_CACHE: "the cache cannot be used (damaged, or from a newer version)",
    EXIT_REJECTED: "the server rejected an item, or the action is not allowed",
    EXIT_NO_DISPLAY: "no display for the desktop app (the command line still works)",
    EXIT_SELF_TEST_FAILED: "a check of --self-test failed (its report says which)",
    EXIT_INTERRUPTED: "interrupted with Ctrl+C",
}

PASSWORD_ENVIRONMENT_VARIABLE = "COMMONPLACE_PASSWORD"


class CommandError(Exception):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commonplace",
        description="Commonplace: social workplace learning on Matrix.",
        epilog="Without a command, the desktop app opens.",
    )
    parser.add_argument(
        "--version", action="version", version=f"commonplace {__version__}"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log requests to stderr"
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check Qt, the keyring, notifications, the cache folder and the "
        "server, print a report and exit (11 when a check fails)",
    )
    from app.self_test import QT_PROBE_OPTION

    # Internal: the child process of the self-test's Qt check.
    parser.add_argument(QT_PROBE_OPTION, action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command")

    gui = commands.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("--server", help="homeserver URL or server name to sign in to")
    gui.add_argument("--user", help="user name to sign in with")

    login = commands.add_parser(
        "login", help="sign in and store the token in the keyring"
    )
    login.add_argument(
        "--server",
        default="",
        help="homeserver URL or server name (needed unless the policy sets one)",
    )
    account = login.add_mutually_exclusive_group(required=True)
    account.add_argument("--user", help="user name or full Matrix id")
    account.add_argument(
        "--sso",
        action="store_true",
        help="sign in with single sign-on in the browser instead of a password",
    )
    login.add_argument(
        "--idp",
        metavar="ID",
        help="with --sso: the identity provider's id (else the server offers a choice)",
    )
    login.add_argument(
        "--password-stdin",
        action="store_true",
        help=f"read the password from standard input (else ${PASSWORD_ENVIRONMENT_VARIABLE}"
        " or a prompt)",
    )

    logout = commands.add_parser("logout", help="sign out and delete the token")
    logout.add_argument(
        "--wipe-cache", action="store_true", help="also delete the cached content"
    )

    sync = commands.add_parser("sync", help="fetch new events into the cache")
    sync.add_argument("--once", action="store_true", help="one sync, then exit")

    commands.add_parser("spaces", help="list group spaces")
    discussions = commands.add_parser("discussions", help="list a space's discussions")
    discussions.add_argument("space", help="space name or room id")
    discussions.add_argument(
        "--limit", type=positive_int, default=50, help="rows to show (default 50)"
    )
    show = commands.add_parser("show", help="show a discussion with its replies")
    show.add_argument("discussion", help="event id (or a unique prefix of it)")
    commands.add_parser("people", help="list people met in your spaces")
    commands.add_parser("status", help="server, user, cache size and last sync")

    from app import cli_outbox, cli_search

    cli_outbox.add_parsers(commands)
    cli_search.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    from app.logging_setup import configure_logging

    if args.self_test_qt_probe:
        from app.self_test import run_qt_probe

        return run_qt_probe()
    if args.self_test:
        from app.self_test import run_self_test

        # The self-test sets up logging itself, because it must still run
        # when the log folder cannot be written.
        return run_self_test(EXIT_SELF_TEST_FAILED, verbose=args.verbose)
    configure_logging(
        logging.DEBUG if args.verbose else logging.INFO, console=args.verbose
    )
    command = args.command or "gui"
    if command == "gui":
        from ui.app import run_gui

        password = os.environ.get(PASSWORD_ENVIRONMENT_VARIABLE)
        return run_gui(
            server=getattr(args, "server", None),
            user=getattr(args, "user", None),
            password=password,
        )
    from app import cli_outbox, cli_search
    from app.policy import system_policy

    # The desktop app shows these in a dialog; here standard error shows them.
    # Reading the policy hides URL passwords in its problems already.
    for problem in system_policy().problems:
        print(f"Warning: {problem}", file=sys.stderr)
    handlers = {**COMMANDS, **cli_outbox.COMMANDS, **cli_search.COMMANDS}
    try:
        return handlers[command](args)
    except CommandError as error:
        print(error.message, file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of the output went away (| head), so there is nothing to print.
        _silence_stdout()
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - reported, logged, exit code 1
        log.exception("Command %s failed", command)
        from app import paths
        from app.logging_setup import redact

        print(
            f"Unexpected error: {type(error).__name__}: {redact(str(error))}. "
            f"Details are in {paths.log_dir()}.",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _error_from(exception: Exception) -> CommandError:
    """Map a core exception to a message, secrets removed, and an exit code."""
    from app.account import ServerNotAllowed
    from app.credentials import KeyringUnavailable
    from app.errors import CacheError
    from app.logging_setup import redact
    from app.matrix import errors

    message = redact(getattr(exception, "message", str(exception)))
    if isinstance(exception, ServerNotAllowed):
        return CommandError(message, EXIT_USAGE)
    if isinstance(exception, KeyringUnavailable):
        # The desktop app can sign in for one session without a keyring; the
        # command line cannot, so it does not suggest that.
        return CommandError(
            f"The keyring cannot be used: {exception.reason}. Start or unlock "
            "the system keyring (gnome-keyring on Linux) and retry.",
            EXIT_KEYRING,
        )
    if isinstance(exception, CacheError):
        return CommandError(message, EXIT_CACHE)
    if isinstance(exception, errors.InvalidCredentials | errors.AuthExpired):
        return CommandError(message, EXIT_AUTH_FAILED)
    if isinstance(
        exception,
        errors.ConnectionFailed
        | errors.ServerNotFound
        | errors.NotMatrixServer
        | errors.TlsFailure
        | errors.InsecureConnection,
    ):
        return CommandError(message, EXIT_NETWORK)
    if isinstance(exception, errors.MatrixError):
        return CommandError(message, EXIT_ERROR)
    raise exception


def _load_session():
    from app.account import AccountManager

    manager = AccountManager()
    try:
        session = manager.load_session()
    except Exception as error:  # noqa: BLE001 - mapped or re-raised by _error_from
        raise _error_from(error) from error
    if session is None and manager.signed_out_reason:
        raise CommandError(
            "Your organisation now requires the server "
            f"{manager.policy.homeserver}; sign in again with 'commonplace login "
            "--user NAME'.",
            EXIT_NOT_SIGNED_IN,
        )
    if session is None:
        raise CommandError(
            "Not signed in. Run 'commonplace login --server URL --user NAME' first.",
            EXIT_NOT_SIGNED_IN,
        )
    return session


def _open_store(session):
    from app import paths
    from app.store import Store

    try:
        return Store(paths.database_path(session.user_id, session.homeserver_url))
    except Exception as error:  # noqa: BLE001 - mapped or re-raised by _error_from
        raise _error_from(error) from error


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = os.environ.get(PASSWORD_ENVIRONMENT_VARIABLE)
    if password is not None:
        return password
    if not sys.stdin.isatty():
        raise CommandError(
            f"No password given: use --password-stdin or set ${PASSWORD_ENVIRONMENT_VARIABLE}.",
            EXIT_USAGE,
        )
    return getpass.getpass("Password: ")


def command_login(args) -> int:
    from app.account import AccountManager

    if args.sso:
        return _login_sso(args)
    if args.idp:
        raise CommandError("--idp works only with --sso.", EXIT_USAGE)
    manager = AccountManager()
    fixed_server = manager.policy.homeserver
    if not (args.server.strip() or fixed_server) or not args.user.strip():
        raise CommandError(
            "Give a server (--server) and a user name (--user).", EXIT_USAGE
        )
    password = _read_password(args)
    if not password:
        raise CommandError(
            "The password is empty; give the account's password.", EXIT_USAGE
        )
    try:
        session = asyncio.run(manager.sign_in(args.server, args.user, password))
    except Exception as error:  # noqa: BLE001 - mapped or re-raised by _error_from
        raise _error_from(error) from error
    print(f"Signed in as {session.user_id} on {session.homeserver_url}.")
    return EXIT_OK


def open_browser(url: str) -> bool:
    """Open ``url`` in the desktop's browser; False when there is no desktop.

    Without a display, webbrowser would start a text browser inside this
    terminal, so the address is only printed.
    """
    import webbrowser

    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    return webbrowser.open(url)


def _login_sso(args) -> int:
    from app.account import AccountManager
    from app.sso import SSO_TIMEOUT, SsoError, SsoNotOffered

    from app.policy import system_policy

    if not args.server.strip() and not system_policy().homeserver:
        raise CommandError("Give a server (--server).", EXIT_USAGE)

    def show_address(url: str, opened: bool) -> None:
        if opened:
            print("Continue in your browser. If it did not open, open this address:")
        else:
            print("Open this address in a browser to sign in:")
        print(url, flush=True)
        minutes = round(SSO_TIMEOUT / 60)
        print(f"Waiting up to {minutes} minutes; press Ctrl+C to cancel.", flush=True)

    try:
        session = asyncio.run(
            AccountManager().sign_in_sso(
                args.server,
                open_browser,
                idp_id=args.idp,
                on_browser=show_address,
            )
        )
    except SsoNotOffered as error:
        raise CommandError(error.message, EXIT_USAGE) from error
    except SsoError as error:
        raise CommandError(error.message, EXIT_AUTH_FAILED) from error
    except Exception as error:  # mapped or re-raised by _error_from
        raise _error_from(error) from error
    print(f"Signed in as {session.user_id} on {session.homeserver_url}.")
    return EXIT_OK


def command_logout(args) -> int:
    from app import paths
    from app.account import AccountManager
    from app.store import delete_cache_files

    session = _load_session()
    manager = AccountManager()
    try:
        asyncio.run(manager.sign_out(session))
    except Exception as error:  # noqa: BLE001 - mapped or re-raised by _error_from
        raise _error_from(error) from error
    wipe = args.wipe_cache
    if manager.policy.is_locked("wipe_cache_on_sign_out"):
        wipe = manager.policy.wipe_cache_on_sign_out
        if args.wipe_cache and not wipe:
            print(
                "Your organisation's policy keeps the cached content at sign-out, "
                "so --wipe-cache has no effect.",
                file=sys.stderr,
            )
    if wipe:
        delete_cache_files(paths.database_path(session.user_id, session.homeserver_url))
        shutil.rmtree(paths.cache_dir(), ignore_errors=True)
        print(f"Signed out {session.user_id} and deleted the cached content.")
    else:
        print(f"Signed out {session.user_id}. The cached content was kept.")
    return EXIT_OK


def _print_status_change():
    """Return a status listener that prints each change of sync state once."""
    from app.sync import SyncState

    previous = {"state": None}

    def listener(status) -> None:
        if status.state is previous["state"]:
            return
        previous["state"] = status.state
        if status.state is SyncState.OFFLINE:
            print(f"Offline: {status.message} Retrying.", file=sys.stderr, flush=True)
        elif status.state is SyncState.ONLINE:
            print("Online; the cache is up to date.", flush=True)
        elif status.state is SyncState.SIGNED_OUT:
            print(f"Signed out: {status.message}", file=sys.stderr, flush=True)

    return listener


def command_sync(args) -> int:
    from app.session import AppSession

    session = _load_session()

    async def run() -> None:
        app_session = AppSession(session)
        try:
            if args.once:
                changes = await app_session.sync.sync_once()
                await app_session.sync.wait_for_background()
                print(f"Synced: {len(changes.rooms)} rooms updated.")
            else:
                print("Syncing; press Ctrl+C to stop.")
                app_session.add_status_listener(_print_status_change())
                await app_session.sync.run()
                # run() returns only when the server ended the session.
                raise CommandError(
                    "The session has ended. Sign in again with 'commonplace login'.",
                    EXIT_AUTH_FAILED,
                )
        finally:
            await app_session.close()

    try:
        asyncio.run(run())
    except CommandError:
        raise
    except Exception as error:  # noqa: BLE001 - mapped or re-raised by _error_from
        raise _error_from(error) from error
    return EXIT_OK


def command_spaces(args) -> int:
    from app.store import queries
    from app.text import clean_name

    session = _load_session()
    store = _open_store(session)
    spaces = queries.list_spaces(store.reader())
    rows = []
    for space in spaces:
        name = clean_name(space.name, "Unnamed space")
        if space.room_id == queries.UNGROUPED_SPACE_ID:
            name = "Rooms outside spaces"
        state = "invited" if space.membership == "invite" else ""
        rows.append([name, str(space.unread_count), state, space.room_id or "-"])
    store.close()
    if not rows:
        print("No spaces in the cache yet. Run 'commonplace sync --once'.")
        return EXIT_OK
    print_table(["SPACE", "UNREAD", "STATE", "ID"], rows)
    return EXIT_OK


def command_discussions(args) -> int:
    from app.store import queries
    from app.text import clean_name, display_name

    session = _load_session()
    store = _open_store(session)
    conn = store.reader()
    space = queries.find_space(conn, args.space)
    if space is None:
        store.close()
        raise CommandError(
            f"No space named '{args.space}' in the cache. Run 'commonplace spaces' "
            "to list them.",
            EXIT_NOT_FOUND,
        )
    room_ids = queries.room_ids_of_space(conn, space.room_id)
    discussions = queries.list_discussions(conn, room_ids, limit=args.limit)
    rows = [
        [
            clean_name(item.title, "(untitled)"),
            item.kind,
            display_name(item.sender_name, item.sender),
            str(item.reply_count),
            format_time(item.last_activity_ts),
            item.event_id,
        ]
        for item in discussions
    ]
    store.close()
    if not rows:
        print(f"No discussions in {clean_name(space.name, space.room_id)} yet.")
        return EXIT_OK
    print_table(["TITLE", "KIND", "AUTHOR", "REPLIES", "LAST ACTIVITY", "ID"], rows)
    return EXIT_OK


def command_show(args) -> int:
    from app.store import answers, queries
    from app.text import clean_name, clean_text, display_name

    session = _load_session()
    store = _open_store(session)
    conn = store.reader()
    matches = queries.find_discussions(conn, args.discussion)
    if len(matches) != 1:
        store.close()
        if matches:
            raise CommandError(
                f"'{args.discussion}' matches {len(matches)} or more discussions. "
                "Give more characters of the id.",
                EXIT_USAGE,
            )
        raise CommandError(
            f"No discussion '{args.discussion}' in the cache. Run 'commonplace "
            "discussions SPACE' to list ids.",
            EXIT_NOT_FOUND,
        )
    event_id = matches[0]
    summary = queries.get_discussion_summary(conn, event_id)
    root = queries.get_discussion_post(conn, event_id)
    replies = queries.list_replies(conn, event_id, limit=10_000)
    reactions = queries.reactions_for(
        conn, [event_id, *(reply.event_id for reply in replies)], session.user_id
    )
    accepted = answers.accepted_answers(conn, [event_id]).get(event_id)
    store.close()

    def likes(target: str) -> str:
        items = reactions.get(target, [])
        return "  ".join(f"{clean_name(item.key)} {item.count}" for item in items)

    header = (
        f"{summary.kind.capitalize()} by {display_name(root.sender_name, root.sender)}"
        f" · {format_time(root.ts)} · {count_label(summary.reply_count, 'reply')}"
    )
    if summary.kind == "question":
        header += " · Answered" if accepted else " · Unanswered"

    # The accepted answer comes first, as in the reader pane.
    accepted_id = accepted.reply_id if accepted else None
    accepted_replies = [reply for reply in replies if reply.event_id == accepted_id]
    other_replies = [reply for reply in replies if reply.event_id != accepted_id]

    # Bodies go through clean_text so that escape sequences from the server
    # cannot control the terminal.
    print(clean_name(summary.title, "(untitled)"))
    print(header)
    if likes(event_id):
        print(likes(event_id))
    print()
    print(clean_text(root.body) if not root.redacted else "(deleted)")
    for reply in accepted_replies:
        print()
        print("✓ Accepted answer" + (" (not sent yet)" if accepted.pending else ""))
        _print_reply(reply, likes(reply.event_id))
    for reply in other_replies:
        print()
        _print_reply(reply, likes(reply.event_id))
    return EXIT_OK


def _print_reply(reply, likes: str) -> None:
    from app.text import clean_text, display_name

    name = display_name(reply.sender_name, reply.sender)
    print(f"— {name} · {format_time(reply.ts)}")
    text = clean_text(reply.body) if not reply.redacted else "(deleted)"
    print(textwrap.indent(text, "  "))
    if likes:
        print(f"  {likes}")


def command_people(args) -> int:
    from app.store import queries
    from app.text import clean_name, display_name

    session = _load_session()
    store = _open_store(session)
    people = queries.list_people(store.reader())
    store.close()
    rows = [
        [
            display_name(person.display_name, person.user_id),
            clean_name(person.title),
            clean_name(person.department),
            ", ".join(clean_name(skill) for skill in person.skills),
            person.user_id,
        ]
        for person in people
    ]
    if not rows:
        print("No people in the cache yet. Run 'commonplace sync --once'.")
        return EXIT_OK
    print_table(["NAME", "TITLE", "DEPARTMENT", "SKILLS", "ID"], rows)
    return EXIT_OK


def command_status(args) -> int:
    from app.store import queries
    from app.text import format_size

    session = _load_session()
    store = _open_store(session)
    status = queries.cache_status(store.reader())
    size = store.size_bytes()
    path = store.path
    store.close()
    last = (
        datetime.datetime.fromtimestamp(status.last_sync_finished).strftime(
            "%Y-%m-%d %H:%M:%S"
        )
        if status.last_sync_finished
        else "never"
    )
    storage = "this session only" if session.session_only else "OS keyring"
    print(f"Server:      {session.homeserver_url}")
    print(f"User:        {session.user_id}")
    print(f"Device:      {session.device_id}")
    print(f"Token:       {storage}")
    print(f"Cache:       {path} ({format_size(size)})")
    print(f"Last sync:   {last}")
    print(
        f"Contents:    {status.spaces} spaces, {status.discussions} discussions, "
        f"{status.replies} replies, {status.people} people"
    )
    return EXIT_OK


COMMANDS = {
    "login": command_login,
    "logout": command_logout,
    "sync": command_sync,
    "spaces": command_spaces,
    "discussions": command_discussions,
    "show": command_show,
    "people": command_people,
    "status": command_status,
}


if __name__ == "__main__":
    sys.exit(main())
