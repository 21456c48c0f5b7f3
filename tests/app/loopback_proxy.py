"""An HTTP proxy on 127.0.0.1 that lets a send reach the server, then loses its response.

The proxy forwards every request to the upstream server until the first
``PUT .../send/...``. It forwards that one too and reads the server's
response, so the event is stored, and then never delivers the response: in
``hold`` mode the connection stays open and silent, in ``drop`` mode the
proxy closes it. From then on it treats every request the same way, without
forwarding it, until ``open()`` makes it pass everything again. The client
therefore cannot learn of the send by any route while it is blocked.
"""

import http.client
import json
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

HOLD = "hold"
DROP = "drop"

SEND_PATH = re.compile(r"/_matrix/client/v3/rooms/[^/]+/send/")

# Headers that describe one connection, not the message, so they are not copied.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class LoopbackProxy:
    """A proxy in front of upstream_url (an ``http://127.0.0.1:PORT`` URL).

    send_reached_server is set once the server has responded to the first send.
    first_send_path and first_send_response then contain that request's path
    and the response the client never received.
    """

    def __init__(self, upstream_url: str, mode: str = HOLD):
        if mode not in (HOLD, DROP):
            raise ValueError(f"invalid mode {mode!r}: expected {HOLD!r} or {DROP!r}")
        upstream = urllib.parse.urlsplit(upstream_url)
        if upstream.hostname != "127.0.0.1":
            raise ValueError(f"upstream must be on 127.0.0.1, not {upstream_url}")
        self.upstream = (upstream.hostname, upstream.port)
        self.mode = mode
        self.send_reached_server = threading.Event()
        self.first_send_path: str | None = None
        self.first_send_response: dict | None = None
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._blocked = False
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def open(self) -> None:
        """Pass every later request through, and close the held connections."""
        with self._lock:
            self._blocked = False
        self._released.set()

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def sends(self) -> list[str]:
        """Return the paths of the send requests that the proxy received."""
        return [path for method, path in self.requests if SEND_PATH.match(path)]

    # -- Called by the handler threads --------------------------------------

    def _route(self, method: str, path: str) -> str:
        """Return "forward", "lose" (forward, then lose the response) or "block"."""
        with self._lock:
            self.requests.append((method, path))
            if self._blocked:
                return "block"
            is_send = method == "PUT" and SEND_PATH.match(path)
            if is_send and self.first_send_path is None:
                self.first_send_path = path
                self._blocked = True
                return "lose"
            return "forward"

    def _forward(self, method: str, path: str, headers: dict, body: bytes):
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return (
                response.status,
                response.reason,
                response.getheaders(),
                (response.read()),
            )
        finally:
            connection.close()

    def _lose_response(self, handler: "_Handler") -> None:
        if self.mode == HOLD:
            self._released.wait()
        handler.close_connection = True
        # The connection ends without a response, in hold mode only after
        # open() or stop().
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _handle(self) -> None:
        proxy: LoopbackProxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        route = proxy._route(self.command, self.path)
        if route == "block":
            proxy._lose_response(self)
            return
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in HOP_BY_HOP
        }
        status, reason, response_headers, response_body = proxy._forward(
            self.command, self.path, headers, body
        )
        if route == "lose":
            proxy.first_send_response = json.loads(response_body)
            proxy.send_reached_server.set()
            proxy._lose_response(self)
            return
        self.send_response(status, reason)
        for name, value in response_headers:
            # send_response has written its own Server and Date headers.
            if name.lower() not in HOP_BY_HOP | {"server", "date"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response_body)))
        self.end_headers()
        self.wfile.write(response_body)

    do_GET = do_PUT = do_POST = do_DELETE = _handle
