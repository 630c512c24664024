"""The server closes slow clients: a request (headers and body) that has not arrived in full
within the read timeout loses its connection, while ordinary clients are served."""

import shutil
import socket
import time

import httpx
import pytest


@pytest.fixture
def running(built_atlas, tmp_path):
    from lunatlas.web import create_app
    from tests.servers import serving

    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    with serving(create_app(atlas), read_timeout_s=1.0) as port:
        yield port


def _closed_by_server(sock: socket.socket) -> bool:
    """True when the server has closed the connection (read what it sent, without waiting
    for more)."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except BlockingIOError:
        return False


def test_slow_clients_are_closed_and_others_served(running):
    port = running
    url = f"http://127.0.0.1:{port}/api/editions"
    slow = []
    for i in range(40):
        sock = socket.create_connection(("127.0.0.1", port))
        if i % 4 == 0:
            pass  # connected, sends nothing
        elif i % 4 == 1:
            sock.sendall(b"GET /api/editions HTTP/1.1\r\nHost: x\r\n")  # headers never end
        elif i % 4 == 2:  # a body that never arrives in full
            sock.sendall(b"POST /api/contributions HTTP/1.1\r\nHost: x\r\n"
                         b"Authorization: Bearer nope\r\nContent-Length: 1000\r\n\r\n{")
        else:  # one whole request, then a second one trickled
            sock.sendall(b"GET /api/editions HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(5)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            sock.sendall(b"GET /api/editions HTTP/1.1\r\n")
        slow.append(sock)
    assert httpx.get(url, timeout=5).status_code == 200  # served while they hang
    assert not _closed_by_server(slow[-1]), "closed before its deadline"
    time.sleep(2.5)  # the deadline is 1 s: margin for a loaded machine
    closed = [_closed_by_server(s) for s in slow]
    for sock in slow:
        sock.close()
    assert all(closed), f"{closed.count(False)} slow connection(s) still open after 2.5 s"
    # A keep-alive client sending whole requests is not cut by the read deadline.
    with httpx.Client(timeout=5) as client:
        for _ in range(3):
            assert client.get(url).status_code == 200
            time.sleep(0.6)
