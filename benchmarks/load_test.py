"""Bounded loopback load test of the HTTP API: requests/s, p95 latency, errors.

Starts `lunatlas serve` on 127.0.0.1 (a free port) for an atlas, sends a fixed number of
GET requests over a mix of endpoints from a few client threads, then stops the server.
With ``--slow-clients N`` it first opens N connections that never finish their request
(half-sent headers) and reports how long until the server closed them all and served an
ordinary client again. Traffic goes to this machine only.

    python benchmarks/load_test.py --atlas lunatlas-out/atlas.gpkg [--requests 2000]
    python benchmarks/load_test.py --slow-clients 1500 --requests 200
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np

PATHS = ("/api/editions", "/api/layers/craters?limit=50", "/api/sites",
         "/api/query?lat=-89.4&lon=-140", "/api/layers/craters?bbox=-180,-90,180,-85",
         "/api/chronologies")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slow_clients(port: int, count: int) -> None:
    """Open ``count`` connections that stop mid-headers; print when the server closed them
    and what an ordinary client got meanwhile."""
    import selectors

    base = f"http://127.0.0.1:{port}/api/editions"
    t0 = time.monotonic()
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /api/editions HTTP/1.1\r\nHost: x\r\n")
        sock.setblocking(False)
        sockets.append(sock)
    opened = time.monotonic() - t0
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    statuses: dict[int, int] = {}
    first_ok = None
    closed_at = []
    while len(closed_at) < count and time.monotonic() - t0 < 120:
        try:
            status = httpx.get(base, timeout=2).status_code
        except httpx.HTTPError:
            status = 0
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200 and first_ok is None:
            first_ok = time.monotonic() - t0
        for key, _ in selector.select(timeout=0.2):
            try:
                data = key.fileobj.recv(65536)
            except OSError:
                data = b""
            if not data:
                selector.unregister(key.fileobj)
                key.fileobj.close()
                closed_at.append(time.monotonic() - t0)
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    print(f"{count} half-open connections opened in {opened:.1f} s; the server closed "
          f"{len(closed_at)} of them, the last after {max(closed_at, default=float('nan')):.1f} s;"
          f" an ordinary client got {dict(sorted(statuses.items()))} meanwhile, its first 200 "
          f"after {first_ok if first_ok is not None else float('nan'):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atlas", default="lunatlas-out/atlas.gpkg")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--timeout-s", type=float, default=300.0)
    parser.add_argument("--slow-clients", type=int, default=0)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "lunatlas.cli.main", "serve", "--atlas",
                               args.atlas, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/api/editions", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start") from None
                time.sleep(0.2)
        if args.slow_clients:
            slow_clients(port, args.slow_clients)
        stop_at = time.monotonic() + args.timeout_s

        def one(i: int) -> tuple[float, int]:
            if time.monotonic() > stop_at:
                return 0.0, -1
            t0 = time.perf_counter()
            try:
                status = httpx.get(base + PATHS[i % len(PATHS)], timeout=30).status_code
            except httpx.HTTPError:
                status = 0
            return time.perf_counter() - t0, status

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            results = list(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)
    done = [(d, s) for d, s in results if s != -1]
    latencies = np.array([d for d, _ in done])
    errors = sum(1 for _, s in done if s != 200)
    print(f"{len(done)} requests ({args.threads} threads) in {wall:.1f} s: "
          f"{len(done) / wall:.0f} req/s, p50 {np.percentile(latencies, 50) * 1e3:.0f} ms, "
          f"p95 {np.percentile(latencies, 95) * 1e3:.0f} ms, errors {errors}")


if __name__ == "__main__":
    main()
