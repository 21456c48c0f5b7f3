"""Fixtures for the whole suite: an isolated profile, Synapse and a Secret Service.

Every test gets its own ``COMMONPLACE_HOME`` and a keyring that fails, so no
test reads or writes the user's own folders or keyring. Qt runs offscreen.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from keyring.backend import KeyringBackend

from devtools.secret_service import SecretServiceDaemon
from devtools.synapse import SynapseServer, unique_localpart

os.environ["QT_QPA_PLATFORM"] = "offscreen"

TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def isolated_profile(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point COMMONPLACE_HOME at an empty folder and make the keyring fail."""
    home = tmp_path_factory.mktemp("commonplace-home")
    monkeypatch.setenv("COMMONPLACE_HOME", str(home))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield home
    keyring.set_keyring(previous)


# -- Synapse ---------------------------------------------------------------


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """One Synapse for the whole session, on a free port.

    Tests share its accounts and rooms, so they make their own users with
    ``unique_localpart``. A test that stops the server uses
    ``restartable_synapse`` instead.
    """
    server = SynapseServer(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def restartable_synapse(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SynapseServer]:
    """A Synapse of the test's own, which it may stop and start again.

    ``start()`` after ``stop()`` serves the same port and data.
    """
    server = SynapseServer(tmp_path_factory.mktemp("synapse-restartable"))
    server.start()
    yield server
    server.stop()


@dataclass(frozen=True)
class MatrixUser:
    user_id: str
    localpart: str
    password: str
    access_token: str
    device_id: str


@pytest.fixture
def make_user(synapse: SynapseServer) -> Callable[..., MatrixUser]:
    """Return a factory that registers a new user on ``synapse`` and signs in."""

    def make(prefix: str = "user", displayname: str | None = None) -> MatrixUser:
        localpart = unique_localpart(prefix)
        synapse.register(localpart, TEST_PASSWORD, displayname=displayname)
        user_id, token, device_id = synapse.login(localpart, TEST_PASSWORD)
        return MatrixUser(user_id, localpart, TEST_PASSWORD, token, device_id)

    return make


# -- Secret Service ----------------------------------------------------------


@dataclass(frozen=True)
class SecretService:
    bus_address: str
    keyring: KeyringBackend


@pytest.fixture
def secret_service() -> Iterator[SecretService]:
    """A real gnome-keyring Secret Service on a private D-Bus session bus.

    keyring uses it for the test; the daemons and their files are removed after,
    and DBUS_SESSION_BUS_ADDRESS is restored by the daemon's context manager.
    """
    if not SecretServiceDaemon.available():
        pytest.skip("gnome-keyring-daemon is not installed (./dev setup installs it)")

    previous = keyring.get_keyring()
    with SecretServiceDaemon() as daemon:
        from keyring.backends import SecretService as secret_service_backend

        backend = secret_service_backend.Keyring()
        keyring.set_keyring(backend)
        try:
            yield SecretService(daemon.bus_address, backend)
        finally:
            keyring.set_keyring(previous)
