"""Token storage: rejection of unsafe keyring backends, error mapping, and a real
Secret Service."""

import gc
import sys
import traceback
import types

import jeepney.wrappers
import keyring
import keyring.backend
import keyring.core
import keyring.errors
import pytest
import secretstorage
import secretstorage.exceptions
from keyring.backends import SecretService, chainer, fail, null

from app.credentials import (
    KeyringLocked,
    KeyringUnavailable,
    MemoryTokenStore,
    TokenStore,
    reject_insecure_backend,
)

TOKEN = "syt_dGVzdA_secretsecretsecret_0abc12"
ACCOUNT = "@alice:example.org on https://matrix.example.org"


def _unregistered(cls):
    """Remove a test backend from keyring's registry so detection never picks it."""
    keyring.backend.KeyringBackend._classes.discard(cls)
    return cls


@_unregistered
class DictSecretService(SecretService.Keyring):
    """A Secret Service backend without D-Bus: entries in a dict, or an error."""

    priority = 5

    def __init__(self, error: BaseException | None = None):
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.error = error

    def get_password(self, service, username):
        self._fail()
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self._fail()
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self._fail()
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("No such password!")

    def _fail(self):
        if self.error is not None:
            raise self.error


@_unregistered
class PlaintextKeyring(keyring.backend.KeyringBackend):
    """Stands in for keyrings.alt.file.PlaintextKeyring, which is not installed."""

    priority = 0.5

    def __init__(self):
        super().__init__()
        self.entries = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username), None)


PlaintextKeyring.__module__ = "keyrings.alt.file"


def test_store_round_trips_with_trusted_backend():
    backend = DictSecretService()
    store = TokenStore(backend=backend)

    store.save(ACCOUNT, TOKEN)

    assert store.load(ACCOUNT) == TOKEN
    assert backend.entries == {("Commonplace", ACCOUNT): TOKEN}
    store.delete(ACCOUNT)
    assert store.load(ACCOUNT) is None


def test_store_delete_of_missing_token_is_no_error():
    TokenStore(backend=DictSecretService()).delete(ACCOUNT)


def test_store_rejects_plaintext_backend():
    backend = PlaintextKeyring()
    store = TokenStore(backend=backend)

    with pytest.raises(KeyringUnavailable) as caught:
        store.save(ACCOUNT, TOKEN)

    assert backend.entries == {}
    assert "keyrings.alt.file.PlaintextKeyring" in caught.value.reason
    assert caught.value.message.startswith("No keyring is available: ")
    assert "sign in for this session only" in caught.value.message


def test_store_rejects_detected_plaintext_backend(monkeypatch):
    backend = PlaintextKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)

    with pytest.raises(KeyringUnavailable):
        TokenStore().save(ACCOUNT, TOKEN)
    with pytest.raises(KeyringUnavailable):
        TokenStore().load(ACCOUNT)

    assert backend.entries == {}


def test_store_rejects_plaintext_from_environment(monkeypatch):
    # What keyring does when PYTHON_KEYRING_BACKEND names keyrings.alt's store.
    package = types.ModuleType("keyrings")
    alt = types.ModuleType("keyrings.alt")
    file_module = types.ModuleType("keyrings.alt.file")
    file_module.PlaintextKeyring = PlaintextKeyring
    for name, module in [
        ("keyrings", package),
        ("keyrings.alt", alt),
        ("keyrings.alt.file", file_module),
    ]:
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    keyring.core.init_backend()
    assert isinstance(keyring.get_keyring(), PlaintextKeyring)

    with pytest.raises(KeyringUnavailable):
        TokenStore().save(ACCOUNT, TOKEN)

    assert keyring.get_keyring().entries == {}


def test_store_reports_missing_configured_backend(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.missing.Keyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)

    with pytest.raises(KeyringUnavailable) as caught:
        TokenStore().load(ACCOUNT)

    assert "keyrings" in caught.value.reason


def test_reject_fail_and_null_backends():
    for backend in (fail.Keyring(), null.Keyring()):
        with pytest.raises(KeyringUnavailable):
            reject_insecure_backend(backend)


def test_reject_chainer_with_plaintext_member(monkeypatch):
    monkeypatch.setattr(
        chainer.ChainerBackend, "backends", [DictSecretService(), PlaintextKeyring()]
    )

    with pytest.raises(KeyringUnavailable):
        reject_insecure_backend(chainer.ChainerBackend())


def test_reject_empty_chainer(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])

    with pytest.raises(KeyringUnavailable):
        reject_insecure_backend(chainer.ChainerBackend())


def test_accept_chainer_of_trusted_backends(monkeypatch):
    monkeypatch.setattr(
        chainer.ChainerBackend, "backends", [DictSecretService(), DictSecretService()]
    )

    reject_insecure_backend(chainer.ChainerBackend())


def test_reject_backend_named_like_a_trusted_module():
    @_unregistered
    class Lookalike(PlaintextKeyring):
        pass

    Lookalike.__module__ = "keyring.backends.SecretServiceFile"

    with pytest.raises(KeyringUnavailable):
        reject_insecure_backend(Lookalike())


@pytest.mark.parametrize(
    "error",
    [
        keyring.errors.NoKeyringError("No recommended backend was available"),
        keyring.errors.InitError("Failed to create the collection"),
        keyring.errors.PasswordSetError("Failed to store"),
        RuntimeError("The Secret Service daemon is neither running nor activatable"),
        secretstorage.exceptions.SecretServiceNotAvailableException("no service"),
        jeepney.wrappers.DBusErrorResponse(
            types.SimpleNamespace(
                header=types.SimpleNamespace(fields={4: "org.freedesktop.DBus.Error"}),
                body=("failed",),
            )
        ),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_store_maps_keyring_errors_to_unavailable(error):
    store = TokenStore(backend=DictSecretService(error))

    for call in (lambda: store.save(ACCOUNT, TOKEN), lambda: store.load(ACCOUNT)):
        with pytest.raises(KeyringUnavailable) as caught:
            call()
        assert type(caught.value) is KeyringUnavailable
        assert caught.value.reason
        assert TOKEN not in caught.value.message


@pytest.mark.parametrize(
    "error",
    [
        keyring.errors.KeyringLocked("Failed to unlock the collection!"),
        secretstorage.exceptions.LockedException("locked"),
        secretstorage.exceptions.PromptDismissedException("dismissed"),
    ],
)
def test_store_maps_locked_keyring(error):
    store = TokenStore(backend=DictSecretService(error))

    with pytest.raises(KeyringLocked) as caught:
        store.load(ACCOUNT)

    assert isinstance(caught.value, KeyringUnavailable)
    assert caught.value.message.startswith("The keyring is locked")
    assert "Unlock it and retry" in caught.value.message


def test_store_check_reports_locked_keyring():
    error = keyring.errors.KeyringLocked("Failed to unlock the collection!")

    with pytest.raises(KeyringLocked):
        TokenStore(backend=DictSecretService(error)).check()


def test_memory_store_keeps_token_in_process():
    store = MemoryTokenStore()

    store.check()
    store.save(ACCOUNT, TOKEN)
    assert store.load(ACCOUNT) == TOKEN
    store.delete(ACCOUNT)
    store.delete(ACCOUNT)
    assert store.load(ACCOUNT) is None
    assert MemoryTokenStore().load(ACCOUNT) is None


def test_default_test_keyring_is_unavailable():
    # The suite's autouse fixture installs keyring's failing backend.
    with pytest.raises(KeyringUnavailable) as caught:
        TokenStore().check()

    assert "Secret Service" in caught.value.reason


@pytest.mark.keyring
def test_token_round_trips_in_secret_service(secret_service):
    store = TokenStore()

    store.check()
    store.save(ACCOUNT, TOKEN)
    assert store.load(ACCOUNT) == TOKEN

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        items = list(
            collection.search_items({"service": "Commonplace", "username": ACCOUNT})
        )
        assert len(items) == 1
        assert items[0].get_secret() == TOKEN.encode()
    finally:
        connection.close()

    store.save(ACCOUNT, TOKEN + "2")
    assert store.load(ACCOUNT) == TOKEN + "2"
    store.delete(ACCOUNT)
    assert store.load(ACCOUNT) is None
    store.delete(ACCOUNT)


@pytest.mark.keyring
@pytest.mark.timeout(60)
# keyring 25.7's Secret Service backend leaves its D-Bus connection open when
# it raises KeyringLocked; the test frees and collects it before it ends.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_locked_secret_service_raises_locked(secret_service):
    store = TokenStore()
    store.save(ACCOUNT, TOKEN)
    connection = secretstorage.dbus_init()
    try:
        secretstorage.get_default_collection(connection).lock()
    finally:
        connection.close()

    # No prompter can run on the private bus, so the unlock request fails.
    with pytest.raises(KeyringLocked) as load_failure:
        store.load(ACCOUNT)
    with pytest.raises(KeyringLocked) as check_failure:
        store.check()

    for failure in (load_failure, check_failure):
        error: BaseException | None = failure.value
        while error is not None:
            traceback.clear_frames(error.__traceback__)
            error = error.__cause__ or error.__context__
    gc.collect()
