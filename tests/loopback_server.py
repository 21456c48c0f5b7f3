"""A TCP server on 127.0.0.1 that serves each connection on a thread of its own.

The test helpers that stand between the app and the test Synapse (a TLS
front, a CONNECT proxy) share this: subclasses implement ``_serve``.
"""

from __future__ import annotations

import socket
import threading
from typing import Self


class LoopbackServer:
    """Listens on a free port of 127.0.0.1 from ``__enter__`` until ``close``."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        try:
            # Wakes the thread blocked in accept(); close() alone does not.
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(timeout=5)

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        raise NotImplementedError
