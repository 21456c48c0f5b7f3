"""Sign-in through a private certificate authority and a proxy set by policy.

The test Synapse sits behind an HTTPS front whose certificate comes from a
CA made by trustme, so the system trust store does not know it. The proxy is
a small CONNECT proxy on 127.0.0.1 started by each test.
"""

import asyncio

import pytest
import trustme

from app.account import AccountManager
from app.matrix import ProxyFailure, ServerNotFound, TlsFailure
from app.matrix import http as matrix_http
from app.policy import Policy
from tests.conftest import TEST_PASSWORD
from tests.connect_proxy import ConnectProxy, unused_port
from tests.https_front import HttpsFront

pytestmark = pytest.mark.synapse

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)


@pytest.fixture(autouse=True)
def no_system_proxy_or_backoff(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    async def no_sleep(delay):
        pass

    monkeypatch.setattr(matrix_http, "_sleep", no_sleep)


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_bundle(ca, tmp_path):
    path = tmp_path / "organisation-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def front(synapse, ca):
    with HttpsFront(synapse.base_url, ca) as front:
        yield front


@pytest.fixture
def user(make_user):
    return make_user("policy")


def sign_in(policy: Policy, server: str, localpart: str):
    manager = AccountManager(policy=policy)
    return asyncio.run(
        manager.sign_in(server, localpart, TEST_PASSWORD, session_only=True)
    )


def policy_with(**values) -> Policy:
    return Policy(**values, locked=frozenset(values), source="test")


def test_private_ca_without_bundle_fails(front, user):
    with pytest.raises(TlsFailure) as failure:
        sign_in(Policy(), front.url, user.localpart)

    assert f"127.0.0.1:{front.port}" in failure.value.message
    assert "certificate" in failure.value.message


def test_policy_ca_bundle_signs_in(front, user, ca_bundle):
    session = sign_in(policy_with(ca_bundle=ca_bundle), front.url, user.localpart)

    assert session.user_id == user.user_id
    assert session.homeserver_url == front.url


def test_policy_proxy_carries_sign_in(front, user, ca_bundle):
    with ConnectProxy() as proxy:
        policy = policy_with(ca_bundle=ca_bundle, proxy=proxy.url)
        session = sign_in(policy, front.url, user.localpart)

    assert session.user_id == user.user_id
    assert f"127.0.0.1:{front.port}" in proxy.connects


def test_environment_proxy_is_honoured(front, user, ca_bundle, monkeypatch):
    with ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        session = sign_in(policy_with(ca_bundle=ca_bundle), front.url, user.localpart)

    assert session.user_id == user.user_id
    assert f"127.0.0.1:{front.port}" in proxy.connects


def test_policy_proxy_overrides_environment(front, user, ca_bundle, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{unused_port()}")
    with ConnectProxy() as proxy:
        policy = policy_with(ca_bundle=ca_bundle, proxy=proxy.url)
        sign_in(policy, front.url, user.localpart)

    assert proxy.connects


def test_policy_proxy_sends_its_credentials(front, user, ca_bundle):
    with ConnectProxy(credentials=("office", "s3cret")) as proxy:
        policy = policy_with(ca_bundle=ca_bundle, proxy=proxy.url)
        session = sign_in(policy, front.url, user.localpart)

    assert session.user_id == user.user_id
    assert proxy.connects


def test_dead_proxy_is_named(front, user, ca_bundle):
    port = unused_port()
    policy = policy_with(ca_bundle=ca_bundle, proxy=f"http://127.0.0.1:{port}")

    with pytest.raises(ProxyFailure) as failure:
        sign_in(policy, front.url, user.localpart)

    message = failure.value.message
    assert f"proxy 127.0.0.1:{port}" in message
    assert "refused" in message
    assert f"127.0.0.1:{front.port}" in message


def test_proxy_without_credentials_gets_407(front, user, ca_bundle):
    with ConnectProxy(credentials=("office", "s3cret")) as proxy:
        policy = policy_with(ca_bundle=ca_bundle, proxy=f"http://{proxy.address}")
        with pytest.raises(ProxyFailure) as failure:
            sign_in(policy, front.url, user.localpart)

    message = failure.value.message
    assert f"proxy {proxy.address}" in message
    assert "407" in message
    assert "s3cret" not in message
    assert failure.value.status == 407


def test_proxy_credentials_stay_out_of_messages(front, user, ca_bundle):
    with ConnectProxy(credentials=("office", "right")) as proxy:
        policy = policy_with(
            ca_bundle=ca_bundle, proxy=f"http://office:wrong@{proxy.address}"
        )
        with pytest.raises(ProxyFailure) as failure:
            sign_in(policy, front.url, user.localpart)

    assert "wrong" not in failure.value.message
    assert "office" not in failure.value.message


def test_proxy_that_cannot_reach_server(user, ca_bundle):
    server = f"https://127.0.0.1:{unused_port()}"
    with ConnectProxy() as proxy:
        policy = policy_with(ca_bundle=ca_bundle, proxy=proxy.url)
        with pytest.raises(ProxyFailure) as failure:
            sign_in(policy, server, user.localpart)

    message = failure.value.message
    assert f"proxy {proxy.address} could not connect to {server[8:]}" in message
    assert "502" in message
    assert failure.value.status == 502


def test_policy_fixes_the_server(front, user, ca_bundle):
    policy = policy_with(ca_bundle=ca_bundle, homeserver=front.url)

    session = sign_in(policy, "", user.localpart)

    assert session.homeserver_url == front.url


def test_policy_server_rejects_another(front, user, ca_bundle):
    policy = policy_with(ca_bundle=ca_bundle, homeserver=front.url)

    with pytest.raises(ServerNotFound) as failure:
        sign_in(policy, "https://elsewhere.example", user.localpart)

    assert front.url in failure.value.message
    assert "elsewhere.example" in failure.value.message


# -- Wording without a server ---------------------------------------------------


def test_407_response_names_the_proxy():
    from app.matrix.errors import error_from_response

    error = error_from_response(
        407,
        None,
        {},
        host="matrix.example.org",
        authenticated=False,
        proxy="proxy.example.org:3128",
    )

    assert isinstance(error, ProxyFailure)
    assert "proxy.example.org:3128" in error.message
    assert "matrix.example.org" in error.message


def test_407_without_known_proxy_is_worded():
    from app.matrix.errors import error_from_response

    error = error_from_response(
        407, None, {}, host="matrix.example.org", authenticated=False
    )

    assert error.message.startswith("A proxy on the network requires")


def test_proxy_name_hides_credentials():
    from app.matrix.http import NetworkOptions, proxy_for

    options = NetworkOptions(proxy="http://office:s3cret@proxy.example.org:3128")

    assert proxy_for("https://matrix.example.org", options) == "proxy.example.org:3128"


def test_system_proxy_is_named(monkeypatch):
    from app.matrix.http import proxy_for

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:8080")
    monkeypatch.setenv("NO_PROXY", "intranet.example.org")

    assert proxy_for("https://matrix.example.org") == "proxy.example.org:8080"
    assert proxy_for("https://intranet.example.org") is None
