"""A small HTTP CONNECT proxy on 127.0.0.1 for tests of proxy settings.

It tunnels ``CONNECT 127.0.0.1:PORT`` requests and records each target in
``connects``. It never connects to any other host: a CONNECT elsewhere gets
403. With ``credentials`` it requires Basic authentication (407) first, as
an office proxy does. A target that does not accept the connection gets
502, which is what a proxy answers when it cannot reach the server.
"""

from __future__ import annotations

import base64
import socket

from tests.https_front import relay
from tests.loopback_server import LoopbackServer

MAX_HEADER_BYTES = 16 * 1024


class ConnectProxy(LoopbackServer):
    """``url`` is the proxy's address, with the credentials when it has them."""

    def __init__(self, credentials: tuple[str, str] | None = None):
        self.credentials = credentials
        self.connects: list[str] = []
        self.rejected: list[tuple[str, int]] = []
        super().__init__()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        if self.credentials is None:
            return f"http://{self.address}"
        user, password = self.credentials
        return f"http://{user}:{password}@{self.address}"

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(10)
        try:
            head = _read_head(client)
        except OSError:
            client.close()
            return
        if head is None:
            client.close()
            return
        request_line, headers = head
        parts = request_line.split()
        if len(parts) != 3 or parts[0] != "CONNECT":
            self._reply(
                client, parts[1] if len(parts) > 1 else "", 405, "Method Not Allowed"
            )
            return
        target = parts[1]
        host, _, port_text = target.rpartition(":")
        if host != "127.0.0.1" or not port_text.isdigit():
            self._reply(client, target, 403, "Forbidden")
            return
        if not self._authorised(headers):
            self._reply(
                client,
                target,
                407,
                "Proxy Authentication Required",
                'Proxy-Authenticate: Basic realm="test"\r\n',
            )
            return
        try:
            upstream = socket.create_connection((host, int(port_text)), timeout=10)
        except OSError:
            self._reply(client, target, 502, "Bad Gateway")
            return
        self.connects.append(target)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        client.settimeout(None)
        relay(client, upstream)

    def _authorised(self, headers: dict[str, str]) -> bool:
        if self.credentials is None:
            return True
        user, password = self.credentials
        expected = base64.b64encode(f"{user}:{password}".encode()).decode()
        return headers.get("proxy-authorization", "") == f"Basic {expected}"

    def _reply(
        self,
        client: socket.socket,
        target: str,
        status: int,
        reason: str,
        extra_headers: str = "",
    ) -> None:
        self.rejected.append((target, status))
        response = (
            f"HTTP/1.1 {status} {reason}\r\n{extra_headers}"
            "Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        try:
            client.sendall(response.encode("ascii"))
        except OSError:
            pass
        client.close()


def _read_head(client: socket.socket) -> tuple[str, dict[str, str]] | None:
    """Return the request line and the headers (names in lower case), or None."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk or len(data) > MAX_HEADER_BYTES:
            return None
        data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def unused_port() -> int:
    """Return a loopback port that nothing listens on, for a dead proxy."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]
