"""Bounded loopback load test of the HTTP API: requests/s, p95 latency, errors.

Starts `lunatlas serve` on 127.0.0.1 (a free port) for an atlas, sends a fixed number of
GET requests over a mix of endpoints from a few client threads, then stops the server.
Traffic goes to this machine only.

    python benchmarks/load_test.py --atlas lunatlas-out/atlas.gpkg [--requests 2000]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atlas", default="lunatlas-out/atlas.gpkg")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--timeout-s", type=float, default=300.0)
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
