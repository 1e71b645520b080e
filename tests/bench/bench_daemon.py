#!/usr/bin/python3
"""bench_daemon.py - end-to-end throughput of leakycld, timed from a client.

Starts the daemon on a free port (like the e2e harness) and measures:
  b64_forward    POST /v1/forward with an "x_b64" float32 tensor of 1, 16 and
                 64 MiB answered with "y_b64": median, min and max seconds of
                 several runs; GB/s of payload (request body + response body
                 bytes) and MB/s of tensor (float32 bytes in);
  json_forward   the same with "x" as a JSON array of 1 Mi floats (floats/s);
  small_wrk      16-element forwards with wrk (requests/s) against GET /v1/health
                 in the same run (their ratio), when wrk is here.
A human summary goes to stderr, one JSON object a line to stdout. Figures
only: never a pass/fail on time.

  /usr/bin/python3 tests/bench/bench_daemon.py [--build DIR] [--runs N]
      [--sizes 1,16,64] [--wrk-seconds S] [--no-wrk]
"""
import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e", "lib"))
from harness import Daemon  # noqa: E402

MIB = 1 << 20


def log(*args):
    print(*args, file=sys.stderr)
    sys.stderr.flush()


class Connection:
    """One kept-alive HTTP/1.1 connection on a raw socket, so that the
    client adds as little as it can to the figures: the request goes out in
    one sendall, the body comes back with recv_into a preallocated buffer."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""

    def close(self):
        self.sock.close()

    def _head(self):
        data = self.pending
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the daemon closed the connection")
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers, rest

    def post(self, path, body):
        """Returns (status, response body as a memoryview)."""
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\n\r\n" % (path, len(body))).encode()
        self.sock.sendall(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.sock.sendall(body)
        status, headers, rest = self._head()
        length = int(headers["content-length"])
        buf = bytearray(length)
        view = memoryview(buf)
        have = min(len(rest), length)
        view[:have] = rest[:have]
        self.pending = rest[have:]
        while have < length:
            n = self.sock.recv_into(view[have:], length - have)
            if n == 0:
                raise ConnectionError("the daemon closed the connection mid-body")
            have += n
        return status, view


def timed(conn, body, runs):
    """Seconds of each of runs POSTs of body (after one warm-up) and the
    last response."""
    status, resp = conn.post("/v1/forward", body)
    if status != 200:
        raise RuntimeError("status %d: %s" % (status, bytes(resp[:300])))
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        status, resp = conn.post("/v1/forward", body)
        seconds.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError("status %d: %s" % (status, bytes(resp[:300])))
    return seconds, resp


def leaky(x, alpha):
    """The forward formula in float32, as the daemon computes it."""
    return np.where(x > 0, x, np.float32(alpha) * x).astype(np.float32)


def bench_b64(conn, mib, runs, rng):
    n = mib * MIB // 4
    x = rng.standard_normal(n, dtype=np.float32)
    body = (b'{"activation":"leaky_relu","alpha":0.01,"x_b64":"' +
            base64.b64encode(x.astype("<f4").tobytes()) + b'","dtype":"float32"}')
    seconds, resp = timed(conn, body, runs)
    text = bytes(resp)
    m = re.match(rb'\{"y_b64":"([A-Za-z0-9+/=]*)"', text)
    y = np.frombuffer(base64.b64decode(m.group(1)), dtype="<f4") if m else None
    if y is None or not np.array_equal(y.view(np.uint32), leaky(x, 0.01).view(np.uint32)):
        raise RuntimeError("b64 forward of %d MiB: wrong result" % mib)
    payload = len(body) + len(text)
    med = float(np.median(seconds))
    row = {"bench": "daemon", "case": "b64_forward", "mib": mib, "runs": runs,
           "seconds": med, "min": min(seconds), "max": max(seconds),
           "payload_bytes": payload, "gbps_payload": payload / med / 1e9,
           "tensor_mbps": n * 4 / med / 1e6}
    log("b64 forward %3d MiB: median %8.2f ms (min %.2f, max %.2f) over %d runs; "
        "%.2f GB/s of payload (%d bytes), %.0f MB/s of float32 tensor"
        % (mib, med * 1e3, min(seconds) * 1e3, max(seconds) * 1e3, runs,
           row["gbps_payload"], payload, row["tensor_mbps"]))
    return row


def bench_json(conn, count, runs, rng):
    x = rng.standard_normal(count, dtype=np.float32)
    text = ",".join(repr(float(v)) for v in x)
    body = ('{"activation":"leaky_relu","alpha":0.01,"x":[%s]}' % text).encode()
    seconds, resp = timed(conn, body, runs)
    y = np.array(json.loads(bytes(resp))["y"], dtype=np.float32)
    if not np.array_equal(y.view(np.uint32), leaky(x, 0.01).view(np.uint32)):
        raise RuntimeError("JSON forward: wrong result")
    med = float(np.median(seconds))
    payload = len(body) + len(resp)
    row = {"bench": "daemon", "case": "json_forward", "floats": count, "runs": runs,
           "seconds": med, "min": min(seconds), "max": max(seconds),
           "floats_per_s": count / med, "gbps_payload": payload / med / 1e9}
    log("JSON forward %d floats: median %.2f ms (min %.2f, max %.2f); %.2f M floats/s"
        % (count, med * 1e3, min(seconds) * 1e3, max(seconds) * 1e3, count / med / 1e6))
    return row


def run_wrk(port, path, seconds, threads, connections, script=None):
    """wrk against path: (requests/s, non-2xx count, socket errors line)."""
    cmd = [shutil.which("wrk"), "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds]
    if script:
        cmd += ["-s", os.path.join(HERE, script)]
    out = subprocess.run(cmd + ["http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s*([0-9.]+)", out.stdout)
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out.stdout)
    errors = re.search(r"Socket errors:.*", out.stdout)
    if not m:
        raise RuntimeError("wrk printed no rate:\n" + out.stdout + out.stderr)
    return float(m.group(1)), int(bad.group(1)) if bad else 0, errors.group(0) if errors else ""


def bench_wrk(port, seconds, threads, connections):
    """16-element forwards and GET /v1/health, alternated twice in the same
    run (the machine is shared and noisy): the forward rate, the health
    rate, and their ratio (the goal: forwards at least half of health)."""
    if not shutil.which("wrk"):
        log("small jobs: skipped (no wrk; apt-get install wrk)")
        return None
    fwd, health, non_2xx, errors = [], [], 0, ""
    for _ in range(2):
        rate, bad, errors = run_wrk(port, "/v1/forward", seconds, threads, connections,
                                    "small_forward.lua")
        fwd.append(rate)
        non_2xx += bad
        rate, bad, _ = run_wrk(port, "/v1/health", seconds, threads, connections)
        health.append(rate)
        non_2xx += bad
    ratio = sum(fwd) / sum(health)
    row = {"bench": "daemon", "case": "small_wrk", "elements": 16, "threads": threads,
           "connections": connections, "seconds": seconds, "requests_per_s": max(fwd),
           "health_requests_per_s": max(health), "forward_over_health": ratio,
           "non_2xx": non_2xx}
    log("small jobs (16 floats, wrk -t%d -c%d -d%ds, twice): %.0f requests/s; /v1/health "
        "%.0f requests/s; forward/health %.2f (goal >= 0.5)%s%s"
        % (threads, connections, seconds, row["requests_per_s"], row["health_requests_per_s"],
           ratio, ", %d non-2xx" % non_2xx if non_2xx else "", ", " + errors if errors else ""))
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("LEAKYCL_BUILD", "build"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--sizes", default="1,16,64", help="MiB of float32 tensor, comma-separated")
    ap.add_argument("--json-floats", type=int, default=MIB)
    ap.add_argument("--wrk-seconds", type=int, default=5)
    ap.add_argument("--wrk-threads", type=int, default=4)
    ap.add_argument("--wrk-connections", type=int, default=64)
    ap.add_argument("--no-wrk", action="store_true")
    ap.add_argument("--device", default=os.environ.get("LEAKYCL_DEVICE", "cpu"))
    args = ap.parse_args()
    os.environ["LEAKYCL_BUILD"] = args.build
    sizes = [int(s) for s in args.sizes.split(",") if s]
    biggest = max(sizes) if sizes else 1
    # Room for the largest base64 body (4/3 of the tensor) and its elements.
    limits = ["--max-body", str(biggest * MIB * 3 // 2 + MIB),
              "--max-elements", str(max(biggest * MIB // 4, args.json_floats)), "--quiet"]
    daemon = Daemon(*limits, device=args.device)
    rows = []
    try:
        rng = np.random.default_rng(1)
        conn = Connection(daemon.port)
        try:
            for mib in sizes:
                runs = args.runs if mib >= 16 else args.runs * 3
                rows.append(bench_b64(conn, mib, runs, rng))
            if args.json_floats:
                rows.append(bench_json(conn, args.json_floats, args.runs, rng))
        finally:
            conn.close()
        if not args.no_wrk:
            row = bench_wrk(daemon.port, args.wrk_seconds, args.wrk_threads,
                            args.wrk_connections)
            if row:
                rows.append(row)
    finally:
        daemon.stop()
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
