"""Running the service in a background thread for tests that talk to it over loopback."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def serving(app, read_timeout_s: float = 10.0) -> Iterator[int]:
    """Serve ``app`` on a free loopback port with the service's own configuration; yields
    the port and stops the server afterwards."""
    import uvicorn

    from lunatlas.web.server import service_config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(service_config(app, "127.0.0.1", port, read_timeout_s,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
