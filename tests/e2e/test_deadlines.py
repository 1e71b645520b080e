#!/usr/bin/env python3
"""test_deadlines.py - end-to-end: the clocks on a connection and the limits
on connections. With --header-timeout 2 and --min-rate 64k: a slowloris
(one header byte every 0.5 s) and a client that connects and sends nothing
are cut at the header timeout, a body trickled below the rate and an
answer read below it are cut after the grace, a kept-alive connection idle
past the header timeout still serves its next request, and clients at
speed are served throughout. --max-per-address 2: the third connection
from 127.0.0.1 gets a JSON 503, one from 127.0.0.2 is served. At
--max-connections 3, a new client makes room by dropping the longest idle
kept-alive connection, else the oldest slow one, instead of getting a 503;
with nothing to drop it gets a 503, or is closed at once if it sends no
headers. Start-up warns when RLIMIT_NOFILE is
below what --max-connections needs."""
import json
import os
import resource
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import (Checks, Daemon, b64_floats, closed_by_peer, daemon_binary,  # noqa: E402
                     http_request_bytes, read_response)

HEADER_TIMEOUT = 2
FORWARD = json.dumps({"activation": "relu", "x": [1, -1]})


def forward_ok(d, source=None):
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10, source_address=source)
    try:
        s.sendall(http_request_bytes("POST", "/v1/forward", FORWARD))
        st, hdr, data = read_response(s)
        return st == 200 and json.loads(data) == {"y": [1, 0]}, (st, hdr, data[:300])
    finally:
        s.close()


def cut_after(s, trickle, period, limit):
    """Sends trickle(i) every period seconds until the peer closes; returns
    the seconds until the close (None after limit seconds)."""
    t0 = time.time()
    i = 0
    s.setblocking(False)
    while time.time() - t0 < limit:
        r, _, _ = select.select([s], [], [], period)
        if r:
            try:
                if not s.recv(65536):
                    return time.time() - t0
            except OSError:
                return time.time() - t0
            continue
        try:
            s.send(trickle(i))
        except OSError:
            return time.time() - t0
        i += 1
    return None


def clock_checks(ck):
    d = Daemon("--header-timeout", str(HEADER_TIMEOUT), "--min-rate", "64k", "--timeout", "30",
               "--quiet")
    port = d.port
    results = {}
    try:
        kept = socket.create_connection(("127.0.0.1", port), timeout=10)
        kept.sendall(http_request_bytes("POST", "/v1/forward", FORWARD))
        read_response(kept)
        head = (b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n")
        body = b'{"activation":"relu","x":[' + b"1," * 50000 + b"1]}"
        big = json.dumps({"activation": "relu", "x_b64": b64_floats([1.0] * (2 << 20))}).encode()

        def slowloris():
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            results["slowloris"] = cut_after(s, lambda i: head[i:i + 1], 0.5, 10)
            s.close()

        def silent():
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            closed, _ = closed_by_peer(s, 10)
            results["silent"] = closed and time.time()
            s.close()

        def slow_body():
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
                      len(body))
            results["slow_body"] = cut_after(s, lambda i: body[i * 200:(i + 1) * 200], 0.3, 10)
            s.close()

        def slow_reader():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(http_request_bytes("POST", "/v1/forward", big))
            t0, got = time.time(), 0
            s.settimeout(1)
            try:
                while time.time() - t0 < 12:
                    chunk = s.recv(1024)
                    if not chunk:
                        break
                    got += len(chunk)
                    time.sleep(0.1)
            except OSError:
                pass
            results["slow_reader"] = (time.time() - t0, got)
            s.close()

        t0 = time.time()
        threads = [threading.Thread(target=f) for f in (slowloris, silent, slow_body, slow_reader)]
        for t in threads:
            t.start()
        served = [forward_ok(d)[0] for _ in range(5)]
        time.sleep(HEADER_TIMEOUT + 1)
        kept.sendall(http_request_bytes("POST", "/v1/forward", FORWARD))
        st, _, data = read_response(kept)
        ck.check("kept_alive_idle_past_header_timeout_served", st == 200, (st, data))
        kept.close()
        for t in threads:
            t.join(20)
        ck.check("served_while_slow_clients_wait", all(served), served)
        lo, hi = HEADER_TIMEOUT - 0.3, HEADER_TIMEOUT + 1.5
        t = results.get("slowloris")
        ck.check("slowloris_cut_at_header_timeout", t is not None and lo <= t <= hi,
                 "cut after %s s (--header-timeout %d)" % (t, HEADER_TIMEOUT))
        t = results.get("silent")
        ck.check("silent_connection_cut_at_header_timeout",
                 bool(t) and lo <= t - t0 <= hi, "closed %s" % (t and t - t0))
        # 200 bytes every 0.3 s is ~670 bytes/s: cut once the grace is over.
        t = results.get("slow_body")
        ck.check("slow_body_cut_below_min_rate", t is not None and lo <= t <= hi + 1,
                 "cut after %s s" % t)
        # ~10 KB/s read of an 11 MB answer: cut after the grace, not at the
        # 30 s --timeout, with most of the answer unsent.
        t, got = results.get("slow_reader", (None, 0))
        ck.check("slow_reader_cut_below_min_rate", t is not None and t < 8 and got < len(big) / 2,
                 "closed after %s s with %d bytes read" % (t, got))
        ok, detail = forward_ok(d)
        ck.check("serving_after_cuts", ok and d.alive(), detail)
    finally:
        rc = d.stop()
        ck.check("clocks_clean_exit", rc == 0, (rc, d.stderr()[-2000:]))


def per_address_checks(ck):
    d = Daemon("--max-per-address", "2", "--quiet")
    try:
        held = [socket.create_connection(("127.0.0.1", d.port), timeout=10) for _ in range(2)]
        for s in held:
            s.sendall(http_request_bytes("GET", "/v1/health"))
            read_response(s, "GET")
        ok, (st, hdr, data) = forward_ok(d)
        try:
            err = json.loads(data)["error"]
        except (ValueError, KeyError, TypeError):
            err = {}
        ck.check("per_address_third_connection_503",
                 st == 503 and err.get("code") == "unavailable" and
                 "--max-per-address" in err.get("message", "") and
                 hdr.get("retry-after") == "1" and hdr.get("connection") == "close",
                 (st, hdr, data))
        ok, detail = forward_ok(d, ("127.0.0.2", 0))
        ck.check("per_address_other_address_served", ok, detail)
        for s in held:
            s.close()
        deadline = time.time() + 5
        while time.time() < deadline and not ok:
            time.sleep(0.1)
        ok = False
        while time.time() < deadline and not ok:
            ok, detail = forward_ok(d)
            time.sleep(0.1)
        ck.check("per_address_slots_freed_after_close", ok, detail)
    finally:
        d.stop()


def make_room_checks(ck):
    d = Daemon("--max-connections", "3", "--header-timeout", "30", "--quiet")
    try:
        slow = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Le")
            slow.append(s)
            time.sleep(0.1)
        time.sleep(1.2)
        ok, detail = forward_ok(d)
        ck.check("full_table_drops_slow_connection_for_new_client", ok, detail)
        closed = [closed_by_peer(s, 2 if i == 0 else 0.2)[0] for i, s in enumerate(slow)]
        ck.check("full_table_dropped_the_oldest", closed == [True, False, False], closed)
        for s in slow:
            s.close()
    finally:
        d.stop()


def idle_first_checks(ck):
    """A kept-alive connection with no request is dropped before slow ones."""
    d = Daemon("--max-connections", "3", "--header-timeout", "30", "--timeout", "60", "--quiet")
    try:
        slow = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Le")
            slow.append(s)
        time.sleep(0.3)
        idle = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        idle.sendall(http_request_bytes("POST", "/v1/forward", FORWARD))
        st, _, _ = read_response(idle)
        time.sleep(0.2)
        ok, detail = forward_ok(d)
        ck.check("full_table_new_client_served_past_idle", st == 200 and ok, (st, detail))
        closed = [closed_by_peer(idle, 2)[0]] + [closed_by_peer(s, 0.2)[0] for s in slow]
        ck.check("full_table_dropped_idle_keepalive_first", closed == [True, False, False], closed)
        for s in slow + [idle]:
            s.close()
    finally:
        d.stop()


def refused_checks(ck):
    """With nothing to drop (both slots read bodies, under a second), a new
    connection is refused: answered 503 if its headers come at once, closed
    within a moment if they do not (not at --header-timeout)."""
    d = Daemon("--max-connections", "2", "--header-timeout", "30", "--quiet")
    try:
        busy = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                      b"\r\nContent-Length: 100\r\n\r\n{")
            busy.append(s)
        time.sleep(0.1)
        loud = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        loud.sendall(http_request_bytes("POST", "/v1/forward", FORWARD))
        st, _, data = read_response(loud)
        ck.check("refused_with_headers_gets_503", st == 503 and b"max-connections" in data,
                 (st, data[:200]))
        t0 = time.time()
        silent = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        closed, _ = closed_by_peer(silent, 5)
        took = time.time() - t0
        ck.check("refused_silent_closed_at_once", closed and took < 2, (closed, took))
        for s in busy + [silent, loud]:
            s.close()
        ok, detail = forward_ok(d)
        ck.check("refused_then_served_after_close", ok, detail)
    finally:
        d.stop()


def rlimit_checks(ck):
    def low_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    proc = subprocess.Popen([daemon_binary(), "--listen", "127.0.0.1:0", "--max-connections",
                             "1000", "--device", os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=low_files)
    line = proc.stdout.readline()
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    ck.check("rlimit_nofile_warning", b"listening" in line and b"RLIMIT_NOFILE" in err,
             (line, err[-500:]))


def main():
    ck = Checks()
    clock_checks(ck)
    per_address_checks(ck)
    make_room_checks(ck)
    idle_first_checks(ck)
    refused_checks(ck)
    rlimit_checks(ck)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
