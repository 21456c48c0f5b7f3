"""Settings file, sign-in, saved session and sign-out."""

import asyncio
import gc
import json
import traceback

import httpx
import keyring.errors
import pytest
import secretstorage

from app import paths
from app.account import AccountManager, Session, Settings, account_key, settings_path
from app.credentials import KeyringLocked, KeyringUnavailable, TokenStore
from app.matrix import AuthExpired, InvalidCredentials, MatrixClient, ServerNotFound
from app.matrix import http as matrix_http
from devtools.synapse import unique_localpart

TOKEN = "syt_YWxpY2U_secretsecretsecret_0abc12"
BASE = "https://matrix.example.org"
PASSWORD = "correct horse battery staple"


class FakeTokenStore:
    """TokenStore's interface over a dict; ``error`` is raised by every call."""

    def __init__(self, error: Exception | None = None):
        self.tokens: dict[str, str] = {}
        self.error = error
        self.save_error: Exception | None = None

    def check(self):
        self._fail()

    def save(self, key, token):
        self._fail()
        if self.save_error:
            raise self.save_error
        self.tokens[key] = token

    def load(self, key):
        self._fail()
        return self.tokens.get(key)

    def delete(self, key):
        self._fail()
        self.tokens.pop(key, None)

    def _fail(self):
        if self.error:
            raise self.error


class FakeHomeserver:
    """A MockTransport handler for example.org: discovery, login and logout."""

    def __init__(self, *, logout_error: Exception | None = None):
        self.requests: list[httpx.Request] = []
        self.logout_error = logout_error
        self.logins = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url == "https://example.org/.well-known/matrix/client":
            return httpx.Response(200, json={"m.homeserver": {"base_url": BASE}})
        if url == f"{BASE}/_matrix/client/versions":
            return httpx.Response(200, json={"versions": ["v1.11"]})
        if url == f"{BASE}/_matrix/client/v3/login":
            self.logins += 1
            body = json.loads(request.content)
            device_id = body.get("device_id") or f"DEVICE{self.logins}"
            return httpx.Response(
                200,
                json={
                    "user_id": "@alice:example.org",
                    "access_token": f"{TOKEN}{self.logins}",
                    "device_id": device_id,
                },
            )
        if url == f"{BASE}/_matrix/client/v3/logout":
            if self.logout_error:
                raise self.logout_error
            return httpx.Response(200, json={})
        return httpx.Response(404, json={"errcode": "M_UNRECOGNIZED"})

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    async def no_sleep(delay):
        pass

    monkeypatch.setattr(matrix_http, "_sleep", no_sleep)


def manager_for(server: FakeHomeserver, store=None) -> AccountManager:
    return AccountManager(
        token_store=store if store is not None else FakeTokenStore(),
        transport=httpx.MockTransport(server),
    )


def _release_frames(*failures: pytest.ExceptionInfo) -> None:
    """Drop the frames of caught exceptions so that what they hold is freed."""
    for failure in failures:
        error: BaseException | None = failure.value
        while error is not None:
            traceback.clear_frames(error.__traceback__)
            error = error.__cause__ or error.__context__
    gc.collect()


# Settings file


def test_settings_round_trip():
    settings = Settings(
        homeserver_url=BASE,
        user_id="@alice:example.org",
        device_id="DEV",
        session_only=True,
        last_server="example.org",
    )
    settings.remember_device(BASE, "@alice:example.org", "DEV")

    settings.save()
    loaded = Settings.load()

    assert loaded == settings
    assert settings_path() == paths.config_dir() / "settings.json"


def test_settings_missing_file_gives_defaults():
    assert Settings.load() == Settings()


def test_settings_save_leaves_no_temporary_files():
    Settings(user_id="@a:b").save()
    Settings(user_id="@c:d").save()

    assert [p.name for p in paths.config_dir().iterdir()] == ["settings.json"]
    assert Settings.load().user_id == "@c:d"


def test_settings_keep_unknown_keys():
    settings_path().write_text(json.dumps({"user_id": "@a:b", "theme": "dark"}))

    settings = Settings.load()
    settings.user_id = "@c:d"
    settings.save()

    data = json.loads(settings_path().read_text())
    assert data["theme"] == "dark"
    assert data["user_id"] == "@c:d"


def test_settings_damaged_file_is_moved_aside():
    settings_path().write_text("{not json")

    assert Settings.load() == Settings()
    assert not settings_path().exists()
    assert settings_path().with_name("settings.json.bad").read_text() == "{not json"


def test_settings_ignore_wrong_types():
    settings_path().write_text(
        json.dumps(
            {
                "user_id": 5,
                "session_only": "yes",
                "device_ids": {BASE: {"@a:b": "D", "@c:d": 7}, "x": []},
            }
        )
    )

    settings = Settings.load()

    assert settings.user_id is None
    assert settings.session_only is False
    assert settings.device_ids == {BASE: {"@a:b": "D"}}


def test_remembered_device_matches_localpart_or_full_id():
    settings = Settings()
    settings.remember_device(BASE, "@alice:example.org", "DEV1")
    settings.remember_device(BASE, "@bob:example.org", "DEV2")

    assert settings.remembered_device_id(BASE, "alice") == "DEV1"
    assert settings.remembered_device_id(BASE, "Alice") == "DEV1"
    assert settings.remembered_device_id(BASE, "@alice:example.org") == "DEV1"
    assert settings.remembered_device_id(BASE, "@alice:other.org") is None
    assert settings.remembered_device_id("https://other.org", "alice") is None
    assert settings.remembered_device_id(BASE, "carol") is None


def test_session_repr_hides_token():
    session = Session(BASE, "@a:b", "DEV", TOKEN)

    assert TOKEN not in repr(session)
    assert session.account_key == account_key(BASE, "@a:b")


# Sign-in, saved session and sign-out with a fake homeserver


def test_sign_in_discovers_logs_in_and_saves():
    server = FakeHomeserver()
    store = FakeTokenStore()
    manager = manager_for(server, store)

    session = asyncio.run(manager.sign_in("example.org", "alice", PASSWORD))

    assert session.homeserver_url == BASE
    assert session.user_id == "@alice:example.org"
    assert store.tokens == {session.account_key: session.access_token}
    settings = Settings.load()
    assert settings.homeserver_url == BASE
    assert settings.user_id == "@alice:example.org"
    assert settings.device_id == "DEVICE1"
    assert settings.last_server == "example.org"
    assert settings.device_ids == {BASE: {"@alice:example.org": "DEVICE1"}}
    assert session.access_token not in settings_path().read_text()


def test_sign_in_reuses_device_id():
    server = FakeHomeserver()
    manager = manager_for(server)

    first = asyncio.run(manager.sign_in("example.org", "alice", PASSWORD))
    second = asyncio.run(manager_for(server).sign_in("example.org", "alice", PASSWORD))

    assert second.device_id == first.device_id
    last_login = [r for r in server.requests if r.url.path.endswith("/login")][-1]
    assert json.loads(last_login.content)["device_id"] == first.device_id


def test_sign_in_with_full_user_id_finds_server():
    server = FakeHomeserver()

    session = asyncio.run(
        manager_for(server).sign_in("", "@alice:example.org", PASSWORD)
    )

    assert session.homeserver_url == BASE
    assert str(server.requests[0].url) == (
        "https://example.org/.well-known/matrix/client"
    )


def test_sign_in_needs_user_password_and_server():
    server = FakeHomeserver()
    manager = manager_for(server)

    with pytest.raises(InvalidCredentials):
        asyncio.run(manager.sign_in("example.org", " ", PASSWORD))
    with pytest.raises(InvalidCredentials):
        asyncio.run(manager.sign_in("example.org", "alice", ""))
    with pytest.raises(ServerNotFound):
        asyncio.run(manager.sign_in("", "alice", PASSWORD))

    assert server.requests == []


def test_sign_in_checks_keyring_before_login():
    server = FakeHomeserver()
    manager = manager_for(server, FakeTokenStore(KeyringUnavailable("no daemon")))

    with pytest.raises(KeyringUnavailable):
        asyncio.run(manager.sign_in("example.org", "alice", PASSWORD))

    assert server.requests == []
    assert not settings_path().exists()


def test_sign_in_unsaved_token_logs_out():
    server = FakeHomeserver()
    store = FakeTokenStore()
    store.save_error = KeyringLocked()

    with pytest.raises(KeyringLocked):
        asyncio.run(
            manager_for(server, store).sign_in("example.org", "alice", PASSWORD)
        )

    assert server.paths()[-1] == "/_matrix/client/v3/logout"
    assert server.requests[-1].headers["authorization"] == f"Bearer {TOKEN}1"
    assert not settings_path().exists()


def test_session_only_sign_in_skips_keyring():
    server = FakeHomeserver()
    store = FakeTokenStore(KeyringUnavailable("no daemon"))
    manager = manager_for(server, store)

    session = asyncio.run(
        manager.sign_in("example.org", "alice", PASSWORD, session_only=True)
    )

    assert session.session_only
    assert manager.load_session() == session
    assert Settings.load().session_only is True
    # A new process has no token in memory: the user signs in again.
    assert manager_for(server, store).load_session() is None


def test_load_session_returns_saved_session():
    server = FakeHomeserver()
    store = FakeTokenStore()
    session = asyncio.run(
        manager_for(server, store).sign_in("example.org", "alice", "pw")
    )

    assert manager_for(server, store).load_session() == session


def test_load_session_without_sign_in_is_none():
    assert manager_for(FakeHomeserver()).load_session() is None


def test_load_session_with_locked_keyring_keeps_session():
    server = FakeHomeserver()
    store = FakeTokenStore()
    asyncio.run(manager_for(server, store).sign_in("example.org", "alice", "pw"))
    before = settings_path().read_text()
    store.error = KeyringLocked()

    with pytest.raises(KeyringLocked):
        manager_for(server, store).load_session()

    assert settings_path().read_text() == before
    assert len(store.tokens) == 1
    store.error = None
    assert manager_for(server, store).load_session() is not None


def test_sign_out_forgets_token_and_user():
    server = FakeHomeserver()
    store = FakeTokenStore()
    manager = manager_for(server, store)
    session = asyncio.run(manager.sign_in("example.org", "alice", PASSWORD))

    asyncio.run(manager.sign_out(session))

    assert server.paths()[-1] == "/_matrix/client/v3/logout"
    assert store.tokens == {}
    settings = Settings.load()
    assert settings.user_id is None
    assert settings.device_id is None
    assert settings.homeserver_url == BASE
    assert settings.device_ids == {BASE: {"@alice:example.org": "DEVICE1"}}
    assert manager.load_session() is None


def test_sign_out_works_offline():
    server = FakeHomeserver(logout_error=httpx.ConnectError("network is unreachable"))
    store = FakeTokenStore()
    manager = manager_for(server, store)
    session = asyncio.run(manager.sign_in("example.org", "alice", PASSWORD))

    asyncio.run(manager.sign_out(session))

    assert store.tokens == {}
    assert Settings.load().user_id is None


def test_sign_out_with_locked_keyring_still_clears_user():
    server = FakeHomeserver()
    store = FakeTokenStore()
    manager = manager_for(server, store)
    session = asyncio.run(manager.sign_in("example.org", "alice", PASSWORD))
    store.error = KeyringLocked()

    with pytest.raises(KeyringLocked):
        asyncio.run(manager.sign_out(session))

    assert Settings.load().user_id is None


# Against the real test Synapse


@pytest.fixture
def synapse_account(synapse):
    localpart = unique_localpart("account")
    user_id = synapse.register(localpart, PASSWORD)
    return localpart, user_id


@pytest.mark.synapse
def test_synapse_sign_in_keeps_device_id(synapse, synapse_account):
    localpart, user_id = synapse_account
    store = FakeTokenStore()
    server = synapse.base_url.removeprefix("http://")

    first = asyncio.run(
        AccountManager(token_store=store).sign_in(server, localpart, PASSWORD)
    )
    second = asyncio.run(
        AccountManager(token_store=store).sign_in(server, user_id, PASSWORD)
    )

    assert first.user_id == second.user_id == user_id
    assert second.device_id == first.device_id
    assert store.tokens == {second.account_key: second.access_token}
    assert second.access_token not in settings_path().read_text()


@pytest.mark.synapse
def test_synapse_wrong_password_keeps_settings(synapse, synapse_account):
    localpart, _ = synapse_account
    Settings(last_server="before").save()

    with pytest.raises(InvalidCredentials) as caught:
        asyncio.run(
            AccountManager(token_store=FakeTokenStore()).sign_in(
                synapse.base_url, localpart, "wrong"
            )
        )

    assert "password is incorrect" in caught.value.message
    assert Settings.load().last_server == "before"


@pytest.mark.synapse
def test_synapse_sign_out_revokes_token(synapse, synapse_account):
    localpart, _ = synapse_account
    manager = AccountManager(token_store=FakeTokenStore())
    session = asyncio.run(manager.sign_in(synapse.base_url, localpart, PASSWORD))

    asyncio.run(manager.sign_out(session))

    async def whoami():
        async with MatrixClient(session.homeserver_url, session.access_token) as client:
            await client.whoami()

    with pytest.raises(AuthExpired):
        asyncio.run(whoami())


@pytest.mark.synapse
@pytest.mark.keyring
def test_secret_service_session_survives_restart(
    synapse, synapse_account, secret_service
):
    localpart, _ = synapse_account

    session = asyncio.run(
        AccountManager().sign_in(synapse.base_url, localpart, PASSWORD)
    )
    restored = AccountManager().load_session()

    assert restored == session
    assert TokenStore().load(session.account_key) == session.access_token
    asyncio.run(AccountManager().sign_out(restored))
    assert TokenStore().load(session.account_key) is None


@pytest.mark.keyring
@pytest.mark.timeout(60)
# keyring 25.7's Secret Service backend leaves its D-Bus connection open when
# it raises KeyringLocked; the test frees and collects it before it ends.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_locked_secret_service_keeps_saved_session(secret_service):
    settings = Settings(
        homeserver_url=BASE, user_id="@alice:example.org", device_id="D"
    )
    settings.save()
    TokenStore().save(account_key(BASE, "@alice:example.org"), TOKEN)
    before = settings_path().read_text()
    connection = secretstorage.dbus_init()
    try:
        secretstorage.get_default_collection(connection).lock()
    finally:
        connection.close()

    with pytest.raises(KeyringLocked) as failure:
        AccountManager().load_session()

    assert settings_path().read_text() == before
    assert isinstance(failure.value.__cause__, keyring.errors.KeyringLocked)
    _release_frames(failure)


def test_session_only_sign_in_keeps_saved_account(tmp_path):
    from app.account import AccountManager, Session

    manager = AccountManager(settings_file=tmp_path / "settings.json")
    saved = Session("http://127.0.0.1:1", "@ann:test", "DEVICE1", "token")
    manager._save_signed_in(saved, typed_server="http://127.0.0.1:1")
    temporary = Session("http://127.0.0.1:1", "@ann:test", "DEVICE1", "t2", True)

    manager._save_signed_in(temporary, typed_server="http://127.0.0.1:1")

    reloaded = AccountManager(settings_file=tmp_path / "settings.json").settings
    assert reloaded.user_id == "@ann:test"
    assert reloaded.session_only is False
