"""The suite's isolation fixtures and its private Secret Service."""

import os

import keyring
import keyring.backends.fail
import pytest
from keyring.backends import SecretService


def test_profile_is_isolated(isolated_profile):
    assert os.environ["COMMONPLACE_HOME"] == str(isolated_profile)
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


def test_keyring_fails_outside_secret_service_fixture():
    assert isinstance(keyring.get_keyring(), keyring.backends.fail.Keyring)


@pytest.mark.keyring
def test_secret_service_stores_and_reads_password(secret_service):
    keyring.set_password("commonplace-test", "alice", "s3cret ✓")

    assert isinstance(keyring.get_keyring(), SecretService.Keyring)
    assert keyring.get_password("commonplace-test", "alice") == "s3cret ✓"
    assert os.environ["DBUS_SESSION_BUS_ADDRESS"] == secret_service.bus_address


@pytest.mark.keyring
def test_secret_service_starts_empty(secret_service):
    assert keyring.get_password("commonplace-test", "alice") is None
