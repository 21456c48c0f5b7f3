"""TLS verification against a local HTTPS server whose CA is made by trustme.

The CA is trusted only through the SSL_CERT_FILE environment variable, which
truststore honours on Linux; the machine's trust store is never changed.
"""

import asyncio
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from app.matrix import MatrixClient, TlsFailure, discover_homeserver

pytestmark = pytest.mark.skipif(
    sys.platform != "linux",
    reason="SSL_CERT_FILE is honoured by truststore on Linux only",
)

VERSIONS = {"versions": ["v1.11"], "unstable_features": {}}


class MatrixFront(BaseHTTPRequestHandler):
    """Serves /versions under /matrix only, and a well-known file naming it."""

    def do_GET(self):
        if self.path == "/matrix/_matrix/client/versions":
            self._json(200, VERSIONS)
        elif self.path == "/.well-known/matrix/client":
            port = self.server.server_address[1]
            base_url = f"https://127.0.0.1:{port}/matrix"
            self._json(200, {"m.homeserver": {"base_url": base_url}})
        else:
            self._json(404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized"})

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Handshakes that the client aborts (untrusted certificate) end here.
        pass


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def _serve(ca, *hostnames):
    certificate = ca.issue_cert(*hostnames)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate.configure_cert(context)
    server = QuietServer(("127.0.0.1", 0), MatrixFront)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def front(ca):
    """An HTTPS server on 127.0.0.1 with a certificate for 127.0.0.1."""
    server, thread = _serve(ca, "127.0.0.1")
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def misnamed_front(ca):
    """An HTTPS server on 127.0.0.1 whose certificate names only matrix.test."""
    server, thread = _serve(ca, "matrix.test")
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def trusted_ca(ca, tmp_path, monkeypatch):
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return bundle


async def _versions(base_url):
    async with MatrixClient(base_url + "/matrix") as client:
        return await client.request(
            "GET", "/_matrix/client/versions", authenticated=False, max_attempts=1
        )


def test_tls_untrusted_ca_is_tls_failure(front, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    with pytest.raises(TlsFailure) as caught:
        asyncio.run(_versions(front))

    assert "not trusted" in caught.value.message
    assert "certificate" in caught.value.message


def test_tls_ca_from_ssl_cert_file_is_trusted(front, trusted_ca):
    assert asyncio.run(_versions(front)) == VERSIONS


def test_tls_hostname_mismatch_is_tls_failure(misnamed_front, trusted_ca):
    with pytest.raises(TlsFailure) as caught:
        asyncio.run(_versions(misnamed_front))

    assert "different host name" in caught.value.message


def test_discovery_follows_well_known_over_tls(front, trusted_ca):
    # /versions is not at the root, so discovery reads the well-known file,
    # which names the /matrix prefix.
    base_url = asyncio.run(discover_homeserver(front))

    assert base_url == front + "/matrix"


def test_discovery_reports_untrusted_certificate(front, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    with pytest.raises(TlsFailure):
        asyncio.run(discover_homeserver(front))
