"""Server discovery and feature detection."""

import asyncio
import socket

import httpx
import pytest

from app.matrix import (
    InsecureConnection,
    MatrixClient,
    NotMatrixServer,
    ServerFeatures,
    ServerNotFound,
    detect_features,
    discover_homeserver,
)
from app.matrix import http as matrix_http

VERSIONS = {"versions": ["v1.11"], "unstable_features": {}}


class FakeInternet:
    """A MockTransport handler serving JSON documents by full URL."""

    def __init__(self, documents: dict[str, object]):
        self.documents = documents
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.urls.append(url)
        if url not in self.documents:
            return httpx.Response(404, json={"errcode": "M_UNRECOGNIZED"})
        document = self.documents[url]
        if isinstance(document, httpx.Response):
            return document
        return httpx.Response(200, json=document)

    def discover(self, server: str) -> str:
        transport = httpx.MockTransport(self)
        return asyncio.run(discover_homeserver(server, transport=transport))


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    async def no_sleep(delay):
        pass

    monkeypatch.setattr(matrix_http, "_sleep", no_sleep)


def test_discovery_follows_well_known_of_server_name():
    internet = FakeInternet(
        {
            "https://example.org/.well-known/matrix/client": {
                "m.homeserver": {"base_url": "https://matrix.example.org/"}
            },
            "https://matrix.example.org/_matrix/client/versions": VERSIONS,
        }
    )

    assert internet.discover("example.org") == "https://matrix.example.org"


def test_discovery_keeps_port_of_server_name():
    internet = FakeInternet(
        {"https://example.org:8448/_matrix/client/versions": VERSIONS}
    )

    assert internet.discover(" example.org:8448/ ") == "https://example.org:8448"
    assert internet.urls[0] == "https://example.org:8448/.well-known/matrix/client"


def test_discovery_without_well_known_uses_name():
    internet = FakeInternet({"https://example.org/_matrix/client/versions": VERSIONS})

    assert internet.discover("example.org") == "https://example.org"


def test_discovery_ignores_incomplete_well_known():
    for document in ({}, {"m.homeserver": "x"}, {"m.homeserver": {"base_url": 5}}, []):
        internet = FakeInternet(
            {
                "https://example.org/.well-known/matrix/client": document,
                "https://example.org/_matrix/client/versions": VERSIONS,
            }
        )
        assert internet.discover("example.org") == "https://example.org"


def test_discovery_rejects_plain_http_in_well_known():
    internet = FakeInternet(
        {
            "https://example.org/.well-known/matrix/client": {
                "m.homeserver": {"base_url": "http://matrix.example.org"}
            },
        }
    )

    with pytest.raises(InsecureConnection):
        internet.discover("example.org")


def test_discovery_rejects_malformed_well_known_url():
    internet = FakeInternet(
        {
            "https://example.org/.well-known/matrix/client": {
                "m.homeserver": {"base_url": "matrix.example.org"}
            },
        }
    )

    with pytest.raises(ServerNotFound):
        internet.discover("example.org")


def test_discovery_uses_full_url_directly():
    internet = FakeInternet(
        {"https://matrix.example.org/_matrix/client/versions": VERSIONS}
    )

    assert (
        internet.discover("https://matrix.example.org/") == "https://matrix.example.org"
    )
    assert len(internet.urls) == 1


def test_discovery_full_url_tries_well_known():
    internet = FakeInternet(
        {
            "https://example.org/.well-known/matrix/client": {
                "m.homeserver": {"base_url": "https://matrix.example.org"}
            },
            "https://matrix.example.org/_matrix/client/versions": VERSIONS,
        }
    )

    assert internet.discover("https://example.org") == "https://matrix.example.org"


def test_discovery_rejects_server_without_versions():
    for response in (
        httpx.Response(200, text="<html>Welcome</html>"),
        httpx.Response(200, json={"versions": "v1.11"}),
        httpx.Response(200, json={"server": "nginx"}),
    ):
        internet = FakeInternet(
            {"https://example.org/_matrix/client/versions": response}
        )
        with pytest.raises(NotMatrixServer):
            internet.discover("example.org")


def test_discovery_rejects_plain_http_url():
    with pytest.raises(InsecureConnection):
        FakeInternet({}).discover("http://matrix.example.org")


def test_discovery_rejects_invalid_names():
    for typed in (
        "",
        "   ",
        "exa mple.org",
        "example.org/path",
        "..",
        "@alice:example.org",
    ):
        with pytest.raises(ServerNotFound):
            FakeInternet({}).discover(typed)


def test_discovery_reports_unresolvable_name():
    def unresolvable(request):
        raise httpx.ConnectError("[Errno -2] Name or service not known") from (
            socket.gaierror(-2, "Name or service not known")
        )

    transport = httpx.MockTransport(unresolvable)

    with pytest.raises(ServerNotFound) as caught:
        asyncio.run(discover_homeserver("nowhere.example", transport=transport))

    assert "nowhere.example" in caught.value.message


def test_discovery_reports_closed_loopback_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(ServerNotFound):
        asyncio.run(discover_homeserver(f"127.0.0.1:{port}"))


def test_features_from_synapse_responses():
    versions = {
        "versions": ["v1.4", "v1.11", "v1.15"],
        "unstable_features": {"uk.tcpip.msc4133.stable": True},
    }
    capabilities = {
        "m.profile_fields": {"enabled": True, "disallowed": ["avatar_url"]},
        "m.set_displayname": {"enabled": True},
    }

    features = ServerFeatures.from_responses(versions, capabilities)

    assert features.extended_profiles
    assert features.threads
    assert features.authenticated_media
    assert features.can_set_displayname
    assert not features.can_set_avatar_url


def test_features_capability_overrides_flags():
    versions = {"versions": ["v1.16"], "unstable_features": {}}

    features = ServerFeatures.from_responses(
        versions, {"m.profile_fields": {"enabled": False}}
    )

    assert not features.extended_profiles


def test_features_from_unstable_flags_only():
    versions = {
        "versions": ["r0.6.1"],
        "unstable_features": {
            "uk.tcpip.msc4133": True,
            "org.matrix.msc3440.stable": True,
            "org.matrix.msc3916.stable": False,
        },
    }

    features = ServerFeatures.from_responses(versions, None)

    assert features.extended_profiles
    assert features.threads
    assert not features.authenticated_media


def test_features_from_old_server():
    features = ServerFeatures.from_responses({"versions": ["v1.1"]}, {})

    assert not features.extended_profiles
    assert not features.threads
    assert not features.authenticated_media


def test_features_survive_malformed_responses():
    features = ServerFeatures.from_responses(
        {"versions": [1, None, "v1.4"], "unstable_features": ["x"]},
        {"m.profile_fields": "yes", "m.set_displayname": {"enabled": "no"}},
    )

    assert features.versions == frozenset({"v1.4"})
    assert features.threads
    assert not features.extended_profiles
    assert features.can_set_displayname


@pytest.mark.synapse
def test_discovery_finds_test_synapse(synapse):
    server = synapse.base_url.removeprefix("http://")

    assert asyncio.run(discover_homeserver(server)) == synapse.base_url
    assert asyncio.run(discover_homeserver(synapse.base_url + "/")) == synapse.base_url


@pytest.mark.synapse
def test_detect_features_on_test_synapse(synapse, make_user):
    user = make_user("features")

    async def main():
        async with MatrixClient(synapse.base_url, user.access_token) as client:
            return await detect_features(client)

    features = asyncio.run(main())

    assert features.extended_profiles
    assert features.threads
    assert features.authenticated_media
    assert "m.profile_fields" in features.capabilities
