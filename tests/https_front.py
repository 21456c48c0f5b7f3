"""A TLS front on 127.0.0.1 that forwards each connection to a plain-HTTP server.

Tests put it in front of the test Synapse, so that the client speaks HTTPS to
a certificate from a private certificate authority (made by trustme) while
the real server answers. Each connection gets a thread that relays bytes both
ways until either side closes.
"""

from __future__ import annotations

import select
import socket
import ssl
import urllib.parse

import trustme

from tests.loopback_server import LoopbackServer

RELAY_CHUNK_BYTES = 64 * 1024


class HttpsFront(LoopbackServer):
    """Serves ``https://127.0.0.1:PORT`` with a certificate issued by ``ca``."""

    def __init__(self, upstream_url: str, ca: trustme.CA):
        upstream = urllib.parse.urlsplit(upstream_url)
        if upstream.scheme != "http" or upstream.hostname != "127.0.0.1":
            raise ValueError(
                f"upstream must be http://127.0.0.1:PORT, not {upstream_url}"
            )
        self.upstream = (upstream.hostname, upstream.port)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(self._context)
        super().__init__()
        self.handshakes_failed = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _serve(self, client: socket.socket) -> None:
        try:
            tls = self._context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            # The client rejected the certificate, as an untrusting client must.
            self.handshakes_failed += 1
            client.close()
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            tls.close()
            return
        relay(tls, upstream)


def relay(first: socket.socket, second: socket.socket) -> None:
    """Copy bytes both ways between two connected sockets, then close both.

    One thread serves both directions, because an SSLSocket must not be read
    and written from two threads at once.
    """
    try:
        while True:
            ready = [s for s in (first, second) if _pending(s)]
            if not ready:
                ready, _, _ = select.select([first, second], [], [], 30)
                if not ready:
                    return
            for source in ready:
                target = second if source is first else first
                data = source.recv(RELAY_CHUNK_BYTES)
                if not data:
                    return
                target.sendall(data)
    except (OSError, ssl.SSLError):
        return
    finally:
        first.close()
        second.close()


def _pending(sock: socket.socket) -> bool:
    # Bytes already decrypted inside an SSLSocket do not make select() fire.
    return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
