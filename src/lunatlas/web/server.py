"""Running the service: uvicorn with a deadline on reading each request.

uvicorn times out idle keep-alive connections but not a client that connects and then
trickles its request line, headers or body (a "slowloris"): such connections are held for
ever and, at ``limit_concurrency`` of them, every other client gets 503.
:class:`ReadDeadlineProtocol` closes a connection whose current request (headers and body)
has not arrived in full within ``read_timeout_s`` of its first byte (or of the connection).
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

READ_TIMEOUT_S = 10.0
"""Default time a client has to send one whole request (seconds)."""

MAX_CONNECTIONS = 256
"""Connections served at once; more get 503 at once instead of piling up."""

KEEP_ALIVE_S = 5
"""Idle keep-alive connections close after this many seconds."""


class ReadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request is not read in time."""

    read_timeout_s: float = READ_TIMEOUT_S
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
            self._disarm()  # the whole request is in

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _read_timed_out(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            who = "{}:{}".format(*self.client) if self.client else "a client"
            self.logger.info("closing %s: request not received within %g s", who,
                             self.read_timeout_s)
            self.transport.close()


def protocol_with_read_timeout(read_timeout_s: float) -> type[ReadDeadlineProtocol]:
    """A :class:`ReadDeadlineProtocol` subclass with its own deadline (seconds)."""
    return type("ReadDeadlineProtocol", (ReadDeadlineProtocol,),
                {"read_timeout_s": float(read_timeout_s)})


def service_config(app, host: str, port: int, read_timeout_s: float = READ_TIMEOUT_S,
                   log_level: str = "info"):
    """The uvicorn configuration the service runs with: bounded connections, idle
    keep-alive closed after :data:`KEEP_ALIVE_S`, each request read within
    ``read_timeout_s``."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=log_level,
                          http=protocol_with_read_timeout(read_timeout_s),
                          timeout_keep_alive=KEEP_ALIVE_S, limit_concurrency=MAX_CONNECTIONS)


def run_service(app, host: str, port: int, read_timeout_s: float = READ_TIMEOUT_S) -> None:
    """Serve ``app`` with uvicorn: loopback by default, bounded connections and reads."""
    import uvicorn

    uvicorn.Server(service_config(app, host, port, read_timeout_s)).run()
