#!/usr/bin/env python3
"""test_faults.py - end-to-end: the daemon under faults. Stalled clients
(headers then nothing, half a header, a reader that never reads) are timed
out while others are served; clients that vanish mid-body, mid-job and
mid-response leave nothing behind; connections over --max-connections get a
clear 503; SIGTERM under load lets the requests in flight finish and exits
0; an OpenCL failure injected with LEAKYCL_FAULT=build|alloc|enqueue answers
503 naming the OpenCL error and the next job succeeds; a tensor over the
device's largest allocation gets 413 or 503, never a crash; the token file's
mode and the --max-depth/--max-jobs limits. The connection checks run on the
sanitized build-san/bin/leakycld too, when it exists (it must then exit 0
with no sanitizer report)."""
import http.client
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import (Checks, Daemon, b64_floats, closed_by_peer, daemon_binary,  # noqa: E402
                     daemon_builds,
                     f32, http_request_bytes, read_response)

# The device of every test (tests/run.sh sets it; PoCL's CPU by default).
DEVICE = os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")

TIMEOUT_S = 2  # --timeout of the stall checks

FORWARD = json.dumps({"activation": "leaky_relu", "alpha": 0.5, "x": [-2, -1, 0.5, 3]})
FORWARD_Y = {"y": [-1, -0.5, 0.5, 3]}


def error_of(parsed):
    """(code, message) of a JSON error body, or (None, None)."""
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        return parsed["error"].get("code"), parsed["error"].get("message", "")
    return None, None


def forward_ok(d):
    st, parsed, raw = d.call("POST", "/v1/forward", raw=FORWARD)
    return st == 200 and parsed == FORWARD_Y, (st, raw[:300])


def big_forward(n):
    """A leaky_relu forward of n elements in base64, and its answer."""
    xs = [-2.0 if i % 3 == 0 else float(i % 7) for i in range(n)]
    ys = [x * 0.5 if x <= 0 else x for x in xs]
    body = json.dumps({"activation": "leaky_relu", "alpha": 0.5, "x_b64": b64_floats(xs)})
    return body.encode(), b64_floats(ys)


def prelu_backward():
    """A prelu backward with per-channel alpha (shape [2,2,3]) and its answer
    from float64 formulas (every value here is exact in float32)."""
    alpha = [0.25, 0.5]
    x = [-2, 1, -4, 3, -1, 0, 2, -2, -1, -3, 5, 1]
    dy = [1, 2, -1, 1, 4, 1, 1, 1, 2, -2, 1, 1]
    dx, dalpha = [], [0.0, 0.0]
    for i, (xv, g) in enumerate(zip(x, dy)):
        c = (i // 3) % 2
        dx.append(g if xv > 0 else alpha[c] * g)
        if xv <= 0:
            dalpha[c] += g * xv
    body = {"activation": "prelu", "alpha": alpha, "shape": [2, 2, 3], "channel_axis": 1,
            "x": x, "dy": dy}
    return json.dumps(body), dx, dalpha


def backward_ok(d):
    body, dx, dalpha = prelu_backward()
    st, parsed, raw = d.call("POST", "/v1/backward", raw=body)
    ok = st == 200 and isinstance(parsed, dict) and parsed.get("dx") == dx and \
        parsed.get("dalpha") == [f32(v) for v in dalpha]
    return ok, (st, raw[:400])


# ---- stalled clients ----

def stall_checks(ck, binary, tag):
    d = Daemon("--timeout", str(TIMEOUT_S), "--threads", "2", binary=binary)
    try:
        port = d.port
        body, _ = big_forward(2 << 20)
        # Headers complete, the body promised and never sent.
        after_headers = socket.create_connection(("127.0.0.1", port), timeout=10)
        after_headers.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                              b'{"activation"')
        t0 = time.time()
        # Half a request line and header, then nothing.
        mid_headers = socket.create_connection(("127.0.0.1", port), timeout=10)
        mid_headers.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Le")
        # A reader that never reads an answer far bigger than the socket
        # buffers, so the daemon's writes block.
        slow_reader = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        slow_reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow_reader.settimeout(30)
        slow_reader.connect(("127.0.0.1", port))
        slow_reader.sendall(http_request_bytes("POST", "/v1/forward", body))
        served = [forward_ok(d)[0] for _ in range(10)]
        ck.check(tag + "served_while_three_clients_stall", all(served) and d.alive(), served)
        closed, _ = closed_by_peer(after_headers, TIMEOUT_S + 6)
        waited = time.time() - t0
        ck.check(tag + "stall_after_headers_timed_out", closed and TIMEOUT_S - 0.5 <= waited,
                 "closed %s after %.1fs (--timeout %d)" % (closed, waited, TIMEOUT_S))
        closed, _ = closed_by_peer(mid_headers, 4)
        ck.check(tag + "stall_mid_headers_timed_out", closed, "still open %.1fs after the start" %
                 (time.time() - t0))
        time.sleep(max(0.0, t0 + TIMEOUT_S + 2 - time.time()))
        closed, got = closed_by_peer(slow_reader, 10)
        # The answer is about 11 MB: a reader stalled past --timeout gets a
        # truncated one, then the close.
        ck.check(tag + "stalled_reader_timed_out", closed and got < len(body) * 0.9,
                 "closed %s after %d of about %d bytes" % (closed, got, len(body)))
        for s in (after_headers, mid_headers, slow_reader):
            s.close()
        ok, detail = forward_ok(d)
        ck.check(tag + "serving_after_stalls", ok, detail)
    finally:
        stop_checks(ck, d, tag + "stalls_")


# ---- clients that disconnect ----

def linger_reset(s):
    """Makes close() send a reset instead of a FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def disconnect_checks(ck, binary, tag):
    d = Daemon("--threads", "2", binary=binary)
    try:
        port = d.port
        big, big_y = big_forward(1 << 20)
        request = http_request_bytes("POST", "/v1/forward", big)
        for reset in (False, True):
            how = "reset_" if reset else ""
            # Mid-body: a fifth of the body, then gone.
            for _ in range(10):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(request[:len(request) // 5])
                if reset:
                    linger_reset(s)
                s.close()
            ok, detail = forward_ok(d)
            ck.check(tag + how + "disconnect_mid_body_then_served", ok, detail)
            # Mid-job: the whole request, then gone before the answer.
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(request)
                if reset:
                    linger_reset(s)
                s.close()
            ok, detail = forward_ok(d)
            ck.check(tag + how + "disconnect_mid_job_then_served", ok, detail)
            # Mid-response: a little of the answer read, then gone.
            got_some = True
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                s.sendall(request)
                got_some = got_some and len(s.recv(65536)) > 0
                if reset:
                    linger_reset(s)
                s.close()
            ok, detail = forward_ok(d)
            ck.check(tag + how + "disconnect_mid_response_then_served", ok and got_some, detail)
        # And a whole big answer still comes back right.
        st, parsed, raw = d.call("POST", "/v1/forward", raw=big)
        ck.check(tag + "big_answer_after_disconnects",
                 st == 200 and isinstance(parsed, dict) and parsed.get("y_b64") == big_y, (st, raw[:200]))
    finally:
        # A request whose client is gone must not linger until --timeout
        # (30 s here): the stop waits for every request in flight.
        t0 = time.time()
        stop_checks(ck, d, tag + "disconnects_")
        ck.check(tag + "disconnects_nothing_left_in_flight", time.time() - t0 < 10,
                 "the stop took %.1fs" % (time.time() - t0))


# ---- the connection limit ----

def connect_and_request(port, method="GET", path="/v1/health", body=b""):
    """A new connection and one request; (socket, status, headers, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(http_request_bytes(method, path, body))
    st, hdr, data = read_response(s, method)
    return s, st, hdr, data


def limit_checks(ck, binary, tag):
    """--max-connections 4. A full table of kept-alive idle connections
    makes room: the longest idle is dropped and the new client served. A
    full table of connections sending answers their clients do not read
    (nothing to drop) answers 503 and closes."""
    limit = 4
    d = Daemon("--max-connections", str(limit), "--threads", "2", binary=binary)
    try:
        port = d.port
        idle = []
        for _ in range(limit):
            s, st, _, _ = connect_and_request(port)
            idle.append((s, st))
            time.sleep(0.05)
        ck.check(tag + "limit_connections_up_to_the_limit_served", all(st == 200 for _, st in idle),
                 [st for _, st in idle])
        s, st, _, data = connect_and_request(port, "POST", "/v1/forward", FORWARD)
        ck.check(tag + "limit_full_of_idle_new_client_served",
                 st == 200 and json.loads(data) == FORWARD_Y, (st, data[:200]))
        closed = [closed_by_peer(c, 2 if i == 0 else 0.2)[0] for i, (c, _) in enumerate(idle)]
        ck.check(tag + "limit_longest_idle_dropped", closed == [True, False, False, False], closed)
        s.close()
        for c, _ in idle:
            c.close()

        # Answers of 8 MB that nobody reads: connections in the middle of
        # sending, which are never dropped.
        body, want = big_forward(1 << 21)
        request = http_request_bytes("POST", "/v1/forward", body)
        sending = []
        deadline = time.time() + 10
        while len(sending) < limit and time.time() < deadline:
            c = socket.create_connection(("127.0.0.1", port), timeout=30)
            c.sendall(request)
            sending.append(c)
        time.sleep(3)  # handled, and stuck sending
        s, st, hdr, data = connect_and_request(port)
        code, msg = error_of(json.loads(data or b"null"))
        ck.check(tag + "limit_over_503_unavailable",
                 st == 503 and code == "unavailable" and "--max-connections" in msg and
                 hdr.get("retry-after") == "1" and hdr.get("connection", "").lower() == "close",
                 (st, hdr, data[:300]))
        closed, _ = closed_by_peer(s, 5)
        ck.check(tag + "limit_over_connection_closed", closed)
        s.close()
        s, st, hdr, data = connect_and_request(port, "POST", "/v1/forward", FORWARD)
        ck.check(tag + "limit_over_post_503", st == 503 and b'"unavailable"' in data, (st, data[:300]))
        s.close()
        # A burst: each is answered 503, or served after another of the
        # burst still waiting for its headers was dropped for it (that one
        # then sees a reset); the daemon stands.
        results = []

        def one():
            try:
                c, st, _, _ = connect_and_request(port, "POST", "/v1/forward", FORWARD)
                c.close()
                results.append(st)
            except (OSError, http.client.HTTPException) as e:
                results.append(type(e).__name__)
        threads = [threading.Thread(target=one) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        ck.check(tag + "limit_burst_503_200_or_reset", len(results) == 40 and
                 all(r in (200, 503, "ConnectionResetError", "RemoteDisconnected",
                           "BrokenPipeError") for r in results), results)
        ok = True
        for c in sending:
            st, _, data = read_response(c)
            ok = ok and st == 200 and json.loads(data).get("y_b64") == want
        ck.check(tag + "limit_sending_connections_finish", ok)
        for c in sending:
            c.close()
        # Their slots free up as the daemon sees them close.
        deadline = time.time() + 10
        st = None
        while time.time() < deadline:
            s, st, _, _ = connect_and_request(port)
            s.close()
            if st == 200:
                break
            time.sleep(0.1)
        ck.check(tag + "limit_slots_freed_after_close", st == 200, st)
    finally:
        stop_checks(ck, d, tag + "limit_")


# ---- SIGTERM under load ----

def sigterm_checks(ck, binary, tag):
    d = Daemon("--threads", "4", "--quiet", binary=binary)
    port = d.port
    big, big_y = big_forward(1 << 20)
    stop = threading.Event()
    outcomes = {"ok": 0, "cut": 0, "bad": []}
    lock = threading.Lock()

    def load():
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/v1/forward", FORWARD)
                resp = conn.getresponse()
                data = resp.read()
                good = resp.status == 200 and json.loads(data) == FORWARD_Y
                with lock:
                    if good:
                        outcomes["ok"] += 1
                    else:
                        outcomes["bad"].append((resp.status, data[:200]))
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                with lock:
                    outcomes["cut"] += 1
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.02)
        if conn:
            conn.close()

    loaders = [threading.Thread(target=load) for _ in range(4)]
    for t in loaders:
        t.start()
    time.sleep(1.0)
    # Requests in flight: each on a connection the daemon already serves,
    # sent whole before the signal.
    inflight = []
    for _ in range(3):
        s, st, _, _ = connect_and_request(port)
        s.settimeout(60)
        inflight.append(s)
    for s in inflight:
        s.sendall(http_request_bytes("POST", "/v1/forward", big))
    d.proc.send_signal(signal.SIGTERM)
    answers, closes = [], []
    for s in inflight:
        try:
            st, hdr, data = read_response(s)
            parsed = json.loads(data)
            good = st == 200 and parsed.get("y_b64") == big_y
            answers.append(True if good else (st, hdr, data[:200]))
            closes.append(hdr.get("connection", "").lower() == "close")
        except (OSError, ValueError, http.client.HTTPException) as e:
            answers.append(repr(e))
        s.close()
    try:
        rc = d.proc.wait(30)
    except subprocess.TimeoutExpired:
        rc = None
    stop.set()
    for t in loaders:
        t.join(60)
    ck.check(tag + "sigterm_in_flight_requests_finish", answers == [True] * 3, answers)
    # The first may have been answered before the signal came; one answered
    # after it says so, and closes its connection.
    ck.check(tag + "sigterm_answers_close_their_connection", any(closes), closes)
    ck.check(tag + "sigterm_under_load_no_wrong_answer",
             outcomes["ok"] > 0 and not outcomes["bad"], outcomes)
    refused = False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        refused = True
    ck.check(tag + "sigterm_then_refuses", refused)
    d.stop()
    err = d.stderr()
    ck.check(tag + "sigterm_under_load_exit_0", rc == 0, (rc, err[-2000:]))
    ck.check(tag + "sigterm_no_sanitizer_report", "Sanitizer" not in err and "runtime error" not in err,
             err[-3000:])


def stop_checks(ck, d, tag):
    rc = d.stop()
    err = d.stderr()
    ck.check(tag + "exit_0", rc == 0, "exit status %s\n%s" % (rc, err[-3000:]))
    ck.check(tag + "no_sanitizer_report", "Sanitizer" not in err and "runtime error" not in err,
             err[-3000:])


# ---- OpenCL failures ----

CL_NAMES = {"build": "CL_BUILD_PROGRAM_FAILURE", "alloc": "CL_MEM_OBJECT_ALLOCATION_FAILURE",
            "enqueue": "CL_OUT_OF_RESOURCES"}


def fault_checks(ck):
    for kind, cl_name in CL_NAMES.items():
        d = Daemon("--quiet", env=dict(os.environ, LEAKYCL_FAULT=kind))
        try:
            first_body = big_forward(1 << 20)[0] if kind == "alloc" else FORWARD
            st, parsed, raw = d.call("POST", "/v1/forward", raw=first_body)
            code, msg = error_of(parsed)
            ck.check("fault_%s_first_job_503_device_error" % kind,
                     st == 503 and code == "device_error" and cl_name in msg and
                     "injected by LEAKYCL_FAULT" in msg, (st, raw[:400]))
            ok, detail = forward_ok(d)
            ck.check("fault_%s_next_job_200" % kind, ok, detail)
            ok, detail = backward_ok(d)
            ck.check("fault_%s_then_backward_200" % kind, ok, detail)
            ck.check("fault_%s_warm_up_skipped_and_said" % kind,
                     "LEAKYCL_FAULT=%s" % kind in d.stderr(), d.stderr()[-500:])
        finally:
            stop_checks(ck, d, "fault_%s_" % kind)
    # A batch takes the failure: every job is right or names the error
    # (packed jobs that fail together are rerun alone), and the next batch
    # is all right.
    d = Daemon("--quiet", env=dict(os.environ, LEAKYCL_FAULT="enqueue"))
    try:
        body, dx, _ = prelu_backward()
        job_b = dict(json.loads(body), op="backward")
        job_f = {"op": "forward", "activation": "leaky_relu", "alpha": 0.5, "x": [-2, -1, 0.5, 3]}
        batch = json.dumps({"jobs": [job_f, job_f, job_b, job_f]})
        results = []
        for _ in range(2):
            st, parsed, raw = d.call("POST", "/v1/batch", raw=batch)
            res = parsed.get("results") if st == 200 and isinstance(parsed, dict) else None
            results.append((st, res, raw))
        st, res, raw = results[0]

        def right(r, i):
            return r == FORWARD_Y if i != 2 else r.get("dx") == dx

        ck.check("fault_batch_first_jobs_right_or_named",
                 res is not None and len(res) == 4 and
                 all(right(r, i) or (error_of(r)[0] == "device_error" and
                                     CL_NAMES["enqueue"] in error_of(r)[1])
                     for i, r in enumerate(res)), raw[:600])
        st, res, raw = results[1]
        ck.check("fault_batch_next_all_right", res is not None and len(res) == 4 and
                 all(right(r, i) for i, r in enumerate(res)), raw[:600])
    finally:
        stop_checks(ck, d, "fault_batch_")


def huge_tensor_checks(ck):
    """A tensor over the device's largest allocation: PoCL's is shrunk to
    256 MiB with POCL_MEMORY_LIMIT=1 so that this costs a few hundred MB."""
    env = dict(os.environ, POCL_MEMORY_LIMIT="1")
    d = Daemon("--quiet", "--max-body", "400m", "--max-elements", "100m", env=env)
    try:
        st, parsed, _ = d.call("GET", "/v1/devices")
        dev = [x for x in parsed["devices"] if x.get("default")][0]
        max_alloc = dev["max_alloc_bytes"]
        if max_alloc > (300 << 20):
            ck.skip("huge_tensor_413_or_503", "the device's largest allocation is %d bytes "
                    "(POCL_MEMORY_LIMIT had no effect: not PoCL?)" % max_alloc)
            return
        n = max_alloc // 4 + 1024
        body = b'{"activation":"relu","x":[' + b"0," * (n - 1) + b"0]}"
        st, parsed, raw = d.call("POST", "/v1/forward", raw=body)
        del body
        code, msg = error_of(parsed)
        ck.check("huge_tensor_413_or_503", st in (413, 503) and code and msg,
                 "%d elements: %s %r" % (n, st, raw[:300]))
        ok, detail = forward_ok(d)
        ck.check("huge_tensor_then_served", ok, detail)
    finally:
        stop_checks(ck, d, "huge_tensor_")


# ---- security defaults and limits ----

def token_mode_checks(ck):
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "token")
    with open(path, "w") as f:
        f.write("s3cret\n")
    try:
        for mode in (0o644, 0o604, 0o640, 0o620, 0o602):
            os.chmod(path, mode)
            p = subprocess.run([daemon_binary(), "--listen", "127.0.0.1:0", "--device", DEVICE,
                                "--token-file", path], capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            err = p.stderr.decode(errors="replace")
            ck.check("token_file_mode_%03o_refused" % mode,
                     p.returncode == 2 and path in err and ("%04o" % mode) in err and
                     len(err.strip().splitlines()) == 1 and b"listening" not in p.stdout,
                     (p.returncode, err))
        for mode in (0o600, 0o400):
            os.chmod(path, mode)
            d = Daemon("--token-file", path)
            st, _, _ = d.request("GET", "/v1/health", headers={"Authorization": "Bearer s3cret"})
            ck.check("token_file_mode_%03o_accepted" % mode, st == 200, st)
            d.stop()
    finally:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        os.unlink(path)
        os.rmdir(tmp)


def limit_flag_checks(ck):
    for args in (["--max-depth", "0"], ["--max-depth", "513"], ["--max-jobs", "0"],
                 ["--max-jobs", "2000000"], ["--max-connections", "0"]):
        p = subprocess.run([daemon_binary(), "--listen", "127.0.0.1:0"] + args, capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        ck.check("rejects_%s_%s" % (args[0].strip("-").replace("-", "_"), args[1]),
                 p.returncode == 2 and args[0].encode() in p.stderr, (p.returncode, p.stderr))
    # --max-depth counts the objects and arrays of the envelope, a tensor's
    # opening bracket included (its own nesting is bounded by the rank
    # limit): a batch job's tensor sits at depth 4.
    d = Daemon("--max-depth", "4", "--max-jobs", "2", "--quiet")
    try:
        job = {"op": "forward", "activation": "relu", "x": [-1]}
        st, parsed, raw = d.call("POST", "/v1/batch", {"jobs": [job, job]})
        ck.check("max_depth_4_max_jobs_2_accept_a_batch_of_2",
                 st == 200 and parsed == {"results": [{"y": [0]}] * 2}, raw)
        deep = dict(job, id={"a": {"b": 1}})
        st, parsed, raw = d.call("POST", "/v1/batch", {"jobs": [deep]})
        code, msg = error_of(parsed)
        ck.check("max_depth_4_rejects_depth_6", st == 400 and code == "invalid_argument" and
                 "nested deeper than 4" in msg, raw)
        st, parsed, raw = d.call("POST", "/v1/batch", {"jobs": [job, job, job]})
        code, msg = error_of(parsed)
        ck.check("max_jobs_2_rejects_3_with_413", st == 413 and code == "payload_too_large" and
                 "--max-jobs" in msg, raw)
    finally:
        d.stop()
    # Beyond loopback without a token: a warning, not a refusal.
    try:
        d = Daemon("--listen", "0.0.0.0:0", "--quiet")
        alive = d.alive()
        d.stop()
        ck.check("non_loopback_without_token_warns", alive and "warning" in d.stderr() and
                 "--token-file" in d.stderr(), d.stderr())
    except RuntimeError as e:
        ck.skip("non_loopback_without_token_warns", "cannot bind 0.0.0.0: %s" % e)
    d = Daemon("--quiet")
    d.stop()
    ck.check("loopback_no_warning", "warning" not in d.stderr(), d.stderr())


def main():
    ck = Checks()
    builds = daemon_builds(ck)
    token_mode_checks(ck)
    limit_flag_checks(ck)
    fault_checks(ck)
    huge_tensor_checks(ck)
    for tag, binary in builds:
        stall_checks(ck, binary, tag)
        disconnect_checks(ck, binary, tag)
        limit_checks(ck, binary, tag)
        sigterm_checks(ck, binary, tag)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
