"""A TCP proxy for outage tests: forward to a real server, refuse or cut on demand.

Not a test module: import it from tests. Typical use::

    with TcpProxy("127.0.0.1", 5672) as proxy:
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F"
        ...                      # talk to RabbitMQ through the proxy
        proxy.down()             # cut open connections, reset new ones
        ...                      # the client sees the server as unreachable
        proxy.up()               # forward again
        proxy.stall()            # keep connections open but pass no byte (an alarm)
        proxy.unstall()          # pass what was held, and the rest

The real server is never touched: only the connections through the proxy suffer.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType

HOST = "127.0.0.1"


def _reset(sock: socket.socket) -> None:
    # SO_LINGER 0: close() sends RST, so the client fails at once instead of waiting
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Listens on a free port of 127.0.0.1 and forwards each connection to the target."""

    def __init__(self, target_host: str, target_port: int, *, up: bool = True) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._up = threading.Event()
        if up:
            self._up.set()
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._stopped = threading.Event()
        self._flowing = threading.Event()
        self._flowing.set()
        self.accepted = 0
        self.refused = 0
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    # -- switches ----------------------------------------------------------------------

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def up(self) -> None:
        """Forward new connections again."""
        self._up.set()

    def down(self) -> None:
        """Cut every open connection and reset new ones until ``up``."""
        self._up.clear()
        self.cut()

    def stall(self) -> None:
        """Hold every byte in both directions (connections stay open), as a peer that
        stopped reading does: e.g. RabbitMQ blocking publishers under an alarm."""
        self._flowing.clear()

    def unstall(self) -> None:
        """Pass the held bytes on, and forward again."""
        self._flowing.set()

    def cut(self) -> None:
        """Close every open connection (both sides); new ones are still forwarded if up."""
        with self._lock:
            pairs, self._pairs = self._pairs, set()
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                _reset(sock)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    # -- plumbing ----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._up.is_set():
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                self.refused += 1
                _reset(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(src, dst, pair), name="tcp-proxy-pump", daemon=True
                ).start()

    def _pump(
        self, src: socket.socket, dst: socket.socket, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while not self._flowing.wait(0.1):
                    if self._stopped.is_set():
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

    def close(self) -> None:
        """Stop listening and cut everything."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut()
        self._thread.join(timeout=2)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
