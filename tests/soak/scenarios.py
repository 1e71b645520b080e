#!/usr/bin/env python3
"""scenarios.py - the short scenarios `make soak` runs after its main load,
each against a daemon of its own (tests/soak/soak.sh starts them):

  slowloris URL DIR SECONDS CONNECTIONS
      CONNECTIONS clients trickle request headers (a header line a second,
      reconnecting when the daemon closes them) while one normal client
      sends DIR/small_forward.body again and again, a new connection each
      time, and checks each answer against DIR/small_forward.golden.
  overload URL SECONDS CLIENTS MIB
      CLIENTS clients send forward jobs with a MIB MiB base64 body each, as
      fast as they can, against a small --max-inflight-bytes: every answer
      must be 200 (with the right length of result) or 503.

Prints "SCEN key value..." lines for soak.sh; exits 1 on an unexpected
answer or socket error of a normal (slowloris) or overload client."""
import base64
import json
import socket
import struct
import sys
import threading
import time
from urllib.parse import urlparse


def read_response(sock):
    """(status, body) of one HTTP/1.1 answer with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the answer's headers")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(min(1 << 20, length - len(body)))
        if not chunk:
            raise ConnectionError("closed in the answer's body")
        body += chunk
    return status, bytes(body[:length])


def post(host, port, path, body, timeout=60):
    """(status, answer body) of one POST on a fresh connection."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        head = ("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, host, port, len(body)))
        sock.sendall(head.encode() + body)
        return read_response(sock)


def percentiles(values):
    if not values:
        return "p50 - p99 - max -"
    v = sorted(values)
    pick = lambda q: v[min(len(v) - 1, int(q * len(v)))] * 1e3
    return "p50 %.1f p99 %.1f max %.1f" % (pick(0.5), pick(0.99), v[-1] * 1e3)


def slowloris(url, folder, seconds, connections):
    u = urlparse(url)
    host, port = u.hostname, u.port
    body = open(folder + "/small_forward.body", "rb").read()
    golden = open(folder + "/small_forward.golden", "rb").read()
    stop = time.monotonic() + seconds
    stats = {"opened": 0, "closed_by_daemon": 0, "refused": 0, "peak_open": 0}

    def open_slow():
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.setblocking(False)
            s.send(("POST /v1/forward HTTP/1.1\r\nHost: %s\r\n" % host).encode())
            stats["opened"] += 1
            return s
        except OSError:
            stats["refused"] += 1
            return None

    def attacker():
        socks = []
        # Open in waves, so that the normal client competes from the start.
        while len(socks) < connections and time.monotonic() < stop:
            for _ in range(min(100, connections - len(socks))):
                s = open_slow()
                if s:
                    socks.append(s)
            time.sleep(0.1)
        n = 0
        while time.monotonic() < stop:
            alive = []
            for s in socks:
                try:
                    s.send(b"X-Trickle-%d: a\r\n" % n)
                    alive.append(s)
                except (BlockingIOError, InterruptedError):
                    alive.append(s)
                except OSError:
                    stats["closed_by_daemon"] += 1
                    s.close()
            # A connection the daemon closed shows as readable (EOF or 408).
            for s in list(alive):
                try:
                    s.recv(4096)  # returns: EOF or an error answer
                    stats["closed_by_daemon"] += 1
                    s.close()
                    alive.remove(s)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    stats["closed_by_daemon"] += 1
                    s.close()
                    alive.remove(s)
            while len(alive) < connections and time.monotonic() < stop:
                s = open_slow()
                if not s:
                    break
                alive.append(s)
            socks = alive
            stats["peak_open"] = max(stats["peak_open"], len(socks))
            n += 1
            time.sleep(1.0)
        for s in socks:
            s.close()

    t = threading.Thread(target=attacker)
    t.start()
    latencies, served, failed, first = [], 0, 0, ""
    while time.monotonic() < stop:
        t0 = time.monotonic()
        try:
            status, answer = post(host, port, "/v1/forward", body, timeout=30)
            ok = status == 200 and answer == golden
            why = "status %d: %s" % (status, answer[:200])
        except OSError as e:
            ok, why = False, "socket: %s" % e
        if ok:
            served += 1
            latencies.append(time.monotonic() - t0)
        else:
            failed += 1
            first = first or why
        time.sleep(0.01)
    t.join()
    print("SCEN slowloris connections %d opened %d closed_by_daemon %d refused %d peak_open %d"
          % (connections, stats["opened"], stats["closed_by_daemon"], stats["refused"],
             stats["peak_open"]))
    print("SCEN slowloris normal_served %d normal_failed %d latency_ms %s"
          % (served, failed, percentiles(latencies)))
    if first:
        print("SCEN slowloris first_failure %s" % first)
    return 0 if failed == 0 and served > 0 else 1


def overload(url, seconds, clients, mib):
    u = urlparse(url)
    host, port = u.hostname, u.port
    n = mib * (1 << 20) // 4
    raw = struct.pack("<%df" % 1024, *[float(i % 17 - 8) for i in range(1024)]) * (n // 1024)
    body = json.dumps({"activation": "leaky_relu", "alpha": 0.1,
                       "x_b64": base64.b64encode(raw).decode(), "dtype": "float32"},
                      separators=(",", ":")).encode()
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    counts, first = {}, []

    def client():
        while time.monotonic() < stop:
            try:
                status, answer = post(host, port, "/v1/forward", body)
                key = str(status)
                if status == 200 and len(answer) < n:
                    key = "200_short"
                    why = "200 with a %d-byte answer" % len(answer)
                else:
                    why = "status %d: %s" % (status, answer[:200])
            except OSError as e:
                key, why = "socket_error", str(e)
            with lock:
                counts[key] = counts.get(key, 0) + 1
                if key not in ("200", "503") and not first:
                    first.append(why)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("SCEN overload clients %d body_mib %.1f answers %s" % (
        clients, len(body) / 1048576.0,
        " ".join("%s:%d" % kv for kv in sorted(counts.items())) or "none"))
    if first:
        print("SCEN overload first_unexpected %s" % first[0])
    unexpected = sum(v for k, v in counts.items() if k not in ("200", "503"))
    return 0 if unexpected == 0 and counts.get("200", 0) > 0 else 1


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "slowloris":
        return slowloris(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    if len(sys.argv) == 6 and sys.argv[1] == "overload":
        return overload(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
