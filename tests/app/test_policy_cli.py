"""The command line under a policy file: fixed server and wipe on sign-out."""

import io
import json
import logging

import pytest

from app import cli, paths, policy
from app.logging_setup import LOG_FILE

pytestmark = [pytest.mark.synapse, pytest.mark.keyring]


@pytest.fixture
def policy_file(tmp_path, monkeypatch):
    """Point the reader at a policy file of the test's own, read afresh."""
    path = tmp_path / "policy.json"
    monkeypatch.setattr(policy, "POLICY_FILE", path)
    policy.system_policy.cache_clear()

    def write(values):
        path.write_text(json.dumps(values), encoding="utf-8")
        policy.system_policy.cache_clear()

    yield write
    policy.system_policy.cache_clear()


def read_log() -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (paths.log_dir() / LOG_FILE).read_text(encoding="utf-8")


def test_login_uses_policy_server(
    synapse, make_user, secret_service, policy_file, monkeypatch, capsys
):
    policy_file({"homeserver": synapse.base_url})
    user = make_user("cli-policy")
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, user.password)

    code = cli.main(["login", "--user", user.localpart])

    assert code == cli.EXIT_OK
    assert synapse.base_url in capsys.readouterr().out


def test_login_without_server_or_policy(secret_service, policy_file, capsys):
    code = cli.main(["login", "--user", "ann"])

    assert code == cli.EXIT_USAGE
    assert "--server" in capsys.readouterr().err


def test_login_rejects_other_server(
    synapse, secret_service, policy_file, monkeypatch, capsys
):
    policy_file({"homeserver": synapse.base_url})
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, "unused")

    code = cli.main(["login", "--server", "http://127.0.0.1:9", "--user", "ann"])

    assert code == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert "Your organisation has set the server" in error
    assert synapse.base_url in error


def test_login_accepts_other_form_of_server(
    synapse, make_user, secret_service, policy_file, monkeypatch, capsys
):
    # The policy gives the server name; the user types its URL in capitals.
    policy_file({"homeserver": synapse.base_url.removeprefix("http://")})
    user = make_user("cli-policy-form")
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, user.password)
    typed = synapse.base_url.upper() + "/"

    code = cli.main(["login", "--server", typed, "--user", user.localpart])

    assert code == cli.EXIT_OK, capsys.readouterr().err
    assert synapse.base_url in capsys.readouterr().out


def test_session_on_other_server_is_signed_out(
    synapse, make_user, secret_service, policy_file, monkeypatch, capsys
):
    user = make_user("cli-policy-moved")
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, user.password)
    login = ["login", "--server", synapse.base_url, "--user", user.localpart]
    assert cli.main(login) == cli.EXIT_OK
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    cache_file = paths.database_path(user.user_id, synapse.base_url)
    cache_before = cache_file.read_bytes()
    capsys.readouterr()
    policy_file({"homeserver": "http://127.0.0.1:9"})

    for command in (["status"], ["sync", "--once"]):
        code = cli.main(command)

        assert code == cli.EXIT_NOT_SIGNED_IN
        error = capsys.readouterr().err
        assert "now requires the server http://127.0.0.1:9" in error
        assert "sign in again" in error
    assert cache_file.read_bytes() == cache_before


def test_password_in_typed_server_is_hidden(
    secret_service, policy_file, monkeypatch, capsys
):
    server = "https://admin:hunter2@127.0.0.1:9"
    monkeypatch.setattr("sys.stdin", io.StringIO("unused\n"))

    code = cli.main(["login", "--server", server, "--user", "ann", "--password-stdin"])

    error = capsys.readouterr().err
    assert code == cli.EXIT_NETWORK
    assert "admin:[redacted]@127.0.0.1:9" in error
    assert "hunter2" not in error
    assert "hunter2" not in read_log()


def test_proxy_password_is_hidden(policy_file, capsys):
    policy_file({"proxy": "http://alice:s3cret-pw@127.0.0.1:31x28"})

    code = cli.main(["spaces"])

    error = capsys.readouterr().err
    assert code == cli.EXIT_NOT_SIGNED_IN
    assert "alice:[redacted]@127.0.0.1:31x28" in error
    assert "s3cret-pw" not in error
    assert "s3cret-pw" not in read_log()


def test_logout_wipes_cache_by_policy(
    synapse, make_user, secret_service, policy_file, monkeypatch, capsys
):
    policy_file({"homeserver": synapse.base_url, "wipe_cache_on_sign_out": True})
    user = make_user("cli-wipe")
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, user.password)
    assert cli.main(["login", "--user", user.localpart]) == cli.EXIT_OK
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    cache_file = paths.database_path(user.user_id, synapse.base_url)
    media = paths.cache_dir() / "thumbnails" / "avatar.img"
    media.parent.mkdir(parents=True, exist_ok=True)
    media.write_bytes(b"picture")
    assert cache_file.exists()
    capsys.readouterr()

    assert cli.main(["logout"]) == cli.EXIT_OK

    assert "deleted the cached content" in capsys.readouterr().out
    assert not cache_file.exists()
    assert not media.exists()


def test_logout_keeps_cache_by_policy(
    synapse, make_user, secret_service, policy_file, monkeypatch, capsys
):
    policy_file({"homeserver": synapse.base_url, "wipe_cache_on_sign_out": False})
    user = make_user("cli-keep")
    monkeypatch.setenv(cli.PASSWORD_ENVIRONMENT_VARIABLE, user.password)
    assert cli.main(["login", "--user", user.localpart]) == cli.EXIT_OK
    assert cli.main(["sync", "--once"]) == cli.EXIT_OK
    cache_file = paths.database_path(user.user_id, synapse.base_url)
    capsys.readouterr()

    assert cli.main(["logout", "--wipe-cache"]) == cli.EXIT_OK

    output = capsys.readouterr()
    assert "The cached content was kept" in output.out
    assert "--wipe-cache has no effect" in output.err
    assert cache_file.exists()


def test_policy_problems_go_to_stderr(policy_file, capsys):
    policy_file({"retention_days": "thirty"})

    code = cli.main(["spaces"])

    error = capsys.readouterr().err
    assert code == cli.EXIT_NOT_SIGNED_IN
    assert error.startswith("Warning: The policy in ")
    assert "retention_days" in error
