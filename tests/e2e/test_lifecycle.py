#!/usr/bin/env python3
"""test_lifecycle.py - end-to-end: bearer-token auth (401 without or with a
wrong token), the access log and --quiet, flags that must be rejected,
SIGTERM/SIGINT with a request in flight (it completes, the daemon exits 0),
SIGHUP in the middle of 12 big responses (all complete, the daemon serves
on), and a second SIGTERM/SIGINT during a stop held by a slow client (the
daemon exits at once, 128 + the signal)."""
import base64
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, Daemon, daemon_binary, http_request_bytes, read_response  # noqa: E402


def token_checks(ck):
    with tempfile.NamedTemporaryFile("w", suffix=".token", delete=False) as f:
        f.write("s3cret-token\n")
        path = f.name
    d = Daemon("--token-file", path)
    try:
        st, hdr, data = d.request("GET", "/v1/health")
        ck.check("token_missing_401", st == 401 and b'"unauthorized"' in data and
                 hdr.get("www-authenticate", "").startswith("Bearer"), (st, hdr, data))
        st, _, data = d.request("POST", "/v1/forward", '{"activation":"relu","x":[1]}',
                                {"Authorization": "Bearer s3cret-tokeX"})
        ck.check("token_wrong_401", st == 401 and b'"unauthorized"' in data, (st, data))
        st, _, data = d.request("POST", "/v1/forward", '{"activation":"relu","x":[1]}',
                                {"Authorization": "Bearer s3cret-token-longer"})
        ck.check("token_longer_401", st == 401, (st, data))
        st, _, data = d.request("POST", "/v1/forward", '{"activation":"relu","x":[-1,1]}',
                                {"Authorization": "Bearer s3cret-token"})
        ck.check("token_right_200", st == 200 and data == b'{"y":[0,1]}', (st, data))
        st, _, data = d.request("GET", "/v1/nope", headers={"Authorization": "Bearer nope"})
        ck.check("token_checked_before_routing", st == 401, (st, data))
    finally:
        ck.check("token_daemon_exit_0", d.stop() == 0, d.stderr()[-1000:])
        os.unlink(path)


def log_checks(ck):
    """One line a request: TIME CLIENT REQUEST_ID METHOD PATH STATUS BYTES
    DURATIONms ERROR END (tests/e2e/test_logs.py checks every field)."""
    d = Daemon()
    d.request("GET", "/v1/health")
    d.request("POST", "/v1/forward", '{"activation":"relu","x":[1]}')
    d.request("GET", "/v1/missing")
    rc = d.stop(signal.SIGINT)
    err = d.stderr()
    lines = [line.split(" ") for line in err.splitlines()
             if re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z ", line) and " leakycld: " not in line]
    ck.check("access_log_one_line_a_request", len(lines) == 3, err)
    # A line is written when its connection's request completes; with many
    # workers those callbacks may finish in any order, so match by path.
    by_path = {f[4]: f for f in lines if len(f) == 10}
    ok = len(lines) == 3 and by_path.get("/v1/health", [])[3:7] == ["GET", "/v1/health", "200", "15"] \
        and by_path.get("/v1/forward", [])[3:6] == ["POST", "/v1/forward", "200"] \
        and by_path.get("/v1/missing", [None] * 10)[5:6] == ["404"] \
        and by_path.get("/v1/missing", [None] * 10)[8] == "not_found" \
        and all(f[7].endswith("ms") and f[9] == "completed" for f in lines)
    ck.check("access_log_method_path_status_bytes_ms", ok, lines)
    ck.check("sigint_exit_0", rc == 0, rc)
    q = Daemon("--quiet")
    q.request("GET", "/v1/health")
    q.stop()
    ck.check("quiet_no_access_log", "/v1/health" not in q.stderr(), q.stderr())


def flag_checks(ck):
    for args in (["--threads", "0"], ["--listen", "nohostport"], ["--max-body", "-1"], ["--bogus"],
                 ["--device", "no-such-device-xyz"], ["--token-file", "/nonexistent/token"],
                 ["--timeout", "abc"], ["--listen", "127.0.0.1:70000"]):
        p = subprocess.run([daemon_binary(), "--listen", "127.0.0.1:0"] + args, capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        ck.check("rejects_" + "_".join(a.strip("-").replace("/", "").replace(":", "") for a in args)[:40],
                 p.returncode != 0 and p.stderr.strip() != b"" and b"listening" not in p.stdout,
                 (p.returncode, p.stderr[-300:]))


def shutdown_checks(ck):
    d = Daemon()
    body = b'{"activation":"leaky_relu","alpha":0.5,"x":[-2,4]}'
    s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    s.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
    time.sleep(0.3)
    d.proc.send_signal(signal.SIGTERM)
    refused = False
    deadline = time.time() + 10
    while not refused and time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", d.port), timeout=2).close()
            time.sleep(0.1)
        except OSError:
            refused = True
    ck.check("sigterm_stops_accepting", refused)
    s.sendall(body[10:])
    data = b""
    try:
        while b'}' not in data.split(b"\r\n\r\n", 1)[-1] or b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        data += b" error %s" % str(e).encode()
    s.close()
    ck.check("sigterm_finishes_request_in_flight", data.startswith(b"HTTP/1.1 200") and
             data.endswith(b'{"y":[-1,4]}'), data)
    try:
        rc = d.proc.wait(30)
    except subprocess.TimeoutExpired:
        rc = None
    d.stop()
    ck.check("sigterm_in_flight_exit_0", rc == 0, (rc, d.stderr()[-1000:]))


def hup_checks(ck):
    """12 clients each take the first bytes of an 11 MB answer and stop
    reading, so that every answer is mid-send when SIGHUP comes."""
    d = Daemon()
    n = 1 << 21
    x = np.where(np.arange(n) % 3 == 0, -1.5, 2.25).astype("<f4") * np.linspace(1, 2, n, dtype="<f4")
    want = np.maximum(x, 0).astype("<f4").tobytes()
    req = http_request_bytes("POST", "/v1/forward", '{"activation":"relu","x_b64":"%s"}' %
                             base64.b64encode(x.tobytes()).decode())
    started, go, results = threading.Semaphore(0), threading.Event(), [None] * 12

    def client(i):
        try:
            s = socket.socket()
            # A small receive window keeps most of the answer in the daemon.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
            s.settimeout(120)
            s.connect(("127.0.0.1", d.port))
            try:
                s.sendall(req)
                s.recv(1, socket.MSG_PEEK)  # the answer has begun
                started.release()
                go.wait(60)
                st, _, body = read_response(s)
                results[i] = (st, base64.b64decode(body.split(b'"y_b64":"', 1)[1].split(b'"', 1)[0])
                              if st == 200 else body[:200])
            finally:
                s.close()
        except Exception as e:  # noqa: BLE001 - any failure is this client's result
            results[i] = ("error", repr(e))
            started.release()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    begun = sum(started.acquire(timeout=120) for _ in threads)
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    go.set()
    for t in threads:
        t.join(120)
    ok = [r for r in results if r and r[0] == 200 and r[1] == want]
    ck.check("sighup_12_answers_mid_send_complete", begun == 12 and len(ok) == 12,
             [(r[0], len(r[1]) if r and r[0] == 200 else r) for r in results])
    try:
        st, _, data = d.request("POST", "/v1/forward", '{"activation":"relu","x":[-1,1]}')
    except OSError as e:
        st, data = None, repr(e)
    ck.check("sighup_serves_on", d.proc.poll() is None and st == 200 and data == b'{"y":[0,1]}', (st, data))
    err = d.stderr()
    ck.check("sighup_logged", "SIGHUP" in err, err[-500:])
    rc = d.stop()
    ck.check("sighup_then_sigterm_exit_0", rc == 0, (rc, d.stderr()[-1000:]))


def force_checks(ck, sig, status):
    """A client that sends half a body holds the stop for --timeout + 10 s;
    a SIGHUP changes nothing, a second stop signal ends it at once."""
    name = signal.Signals(sig).name.lower()
    d = Daemon("--timeout", "30")
    s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    s.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"activation\"")
    time.sleep(0.3)
    d.proc.send_signal(sig)
    time.sleep(0.5)
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    held = d.proc.poll() is None
    ck.check(name + "_stop_held_by_slow_client", held, d.stderr()[-500:])
    t0 = time.time()
    d.proc.send_signal(sig)
    try:
        rc = d.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.time() - t0
    s.close()
    d.stop()
    ck.check(name + "_twice_exits_within_1s_status_%d" % status, held and rc == status and took < 1.0,
             "exit %s after %.2fs\n%s" % (rc, took, d.stderr()[-1000:]))


def main():
    ck = Checks()
    token_checks(ck)
    log_checks(ck)
    flag_checks(ck)
    shutdown_checks(ck)
    hup_checks(ck)
    force_checks(ck, signal.SIGTERM, 143)
    force_checks(ck, signal.SIGINT, 130)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
