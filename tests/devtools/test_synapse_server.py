"""SynapseServer: config, reuse of a running server, restarts and accounts."""

import json
import os
import socket

import httpx
import pytest
import yaml

from devtools.synapse import (
    HOST,
    MAX_UPLOAD_BYTES,
    RATE_LIMITS,
    SynapseError,
    SynapseServer,
    free_port,
    unique_localpart,
)

pytestmark = pytest.mark.synapse

PASSWORD = "server test password"


def test_config_listens_on_loopback_only(synapse):
    config = yaml.safe_load((synapse.data_dir / "homeserver.yaml").read_text())

    assert [listener["bind_addresses"] for listener in config["listeners"]] == [[HOST]]
    assert config["listeners"][0]["resources"] == [
        {"names": ["client"], "compress": False}
    ]
    assert config["trusted_key_servers"] == []
    assert config["report_stats"] is False


def test_config_lifts_every_rate_limit(synapse):
    config = yaml.safe_load((synapse.data_dir / "homeserver.yaml").read_text())

    for key, value in RATE_LIMITS.items():
        assert config[key] == value
    assert config["caches"]["sync_response_cache_duration"] == 0
    assert config["user_directory"]["search_all_users"] is True


def test_media_config_reports_upload_limit(synapse):
    _, token, _ = _new_account(synapse)

    response = httpx.get(
        f"{synapse.base_url}/_matrix/client/v1/media/config",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.json()["m.upload.size"] == MAX_UPLOAD_BYTES


def test_register_creates_administrator(synapse):
    localpart = unique_localpart("admin")
    user_id = synapse.register(localpart, PASSWORD, admin=True, displayname="Ada")
    _, token, _ = synapse.login(localpart, PASSWORD)

    response = httpx.get(
        f"{synapse.base_url}/_synapse/admin/v2/users/{user_id}",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert user_id == f"@{localpart}:{synapse.server_name}"
    assert response.json()["admin"] is True
    assert response.json()["displayname"] == "Ada"


def test_login_keeps_requested_device_id(synapse):
    localpart = unique_localpart("device")
    synapse.register(localpart, PASSWORD)

    user_id, token, device_id = synapse.login(localpart, PASSWORD, "LAPTOP")

    assert user_id == f"@{localpart}:{synapse.server_name}"
    assert token
    assert device_id == "LAPTOP"


def test_login_with_wrong_password_raises(synapse):
    localpart = unique_localpart("wrong")
    synapse.register(localpart, PASSWORD)

    with pytest.raises(SynapseError, match="HTTP 403"):
        synapse.login(localpart, "not the password")


def test_second_start_reuses_running_server(synapse):
    again = SynapseServer(synapse.data_dir)

    again.start()

    assert again.pid == synapse.pid
    assert again.port == synapse.port
    assert again.is_running()


def test_restart_keeps_port_and_accounts(restartable_synapse):
    server = restartable_synapse
    localpart = unique_localpart("restart")
    server.register(localpart, PASSWORD)
    port, pid = server.port, server.pid

    server.stop()
    assert not server.is_running()
    server.start()

    assert server.port == port
    assert server.pid != pid
    assert server.login(localpart, PASSWORD)[0].startswith(f"@{localpart}:")


def test_new_object_on_stopped_data_prefers_recorded_port(restartable_synapse):
    port = restartable_synapse.port
    restartable_synapse.stop()

    server = SynapseServer(restartable_synapse.data_dir)
    server.start()
    try:
        assert server.port == port
    finally:
        server.stop()


def test_startup_failure_raises_with_log(tmp_path):
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        server = SynapseServer(tmp_path, port=taken.getsockname()[1])

        with pytest.raises(SynapseError) as failure:
            server.start()

    assert "exited during startup" in str(failure.value)
    assert "last lines of" in str(failure.value)
    assert not server.is_running()


def test_unique_localpart_differs_each_call():
    first, second = unique_localpart("Alice"), unique_localpart("Alice")

    assert first != second
    assert first.startswith("alice-")


def _new_account(synapse):
    localpart = unique_localpart("media")
    synapse.register(localpart, PASSWORD)
    return synapse.login(localpart, PASSWORD)


def test_start_ignores_stale_recorded_pid(tmp_path):
    # The pid of this test process: alive, but not a Synapse.
    state = {"pid": os.getpid(), "port": free_port(), "server_name": "localhost"}
    (tmp_path / "server.json").write_text(json.dumps(state))
    server = SynapseServer(tmp_path)

    server.start()
    try:
        assert server.pid != os.getpid()
        assert server.is_running()
    finally:
        server.stop()
