#!/usr/bin/env python3
"""test_budget.py - end-to-end: the in-flight byte budget
(--max-inflight-bytes 16m). A body that would pass it is answered a JSON
503 with Retry-After before it is read (at once to Expect: 100-continue); a
chunked body is refused as it grows past it; a held reservation is given
back when its request completes. 48 concurrent 6 MB base64 forwards each
get 200 with the right answer or that 503, never a reset, while the
daemon's peak RSS (VmHWM) stays under the bound the budget sets; after the
burst its RSS falls back (the buffer pool and malloc give memory back)."""
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, Daemon, b64_floats, http_request_bytes, read_response  # noqa: E402

MIB = 1 << 20
BUDGET = 16 * MIB
BURST = 48
N = 1200000  # floats per burst request: a 6.4 MB body


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def unavailable(st, hdr, data):
    """A JSON 503 "unavailable" with Retry-After."""
    try:
        code = json.loads(data)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return False
    return st == 503 and code == "unavailable" and hdr.get("retry-after") == "1" and \
        hdr.get("content-type") == "application/json"


def padded_forward(size):
    """A relu forward of [1, -1] padded with spaces to exactly size bytes."""
    head = b'{"activation":"relu","x":[1,-1]'
    return head + b" " * (size - len(head) - 1) + b"}"


def head_bytes(path, length, extra=""):
    return ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n%s\r\n" % (path, length, extra)).encode()


def held_budget_checks(ck, d):
    # A holds 12 MiB of the 16: its body is promised and comes slowly.
    held = padded_forward(12 * MIB)
    a = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    a.sendall(head_bytes("/v1/forward", len(held)) + held[:1000])
    time.sleep(0.3)
    # B promises 8 MiB and waits for 100 Continue: refused before sending it.
    b = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    t0 = time.time()
    b.sendall(head_bytes("/v1/forward", 8 * MIB, "Expect: 100-continue\r\n"))
    st, hdr, data = read_response(b)
    ck.check("budget_over_503_before_the_body", unavailable(st, hdr, data) and
             b"--max-inflight-bytes" in data and time.time() - t0 < 3, (st, hdr, data[:300]))
    b.close()
    # C sends 8 MiB chunked: refused once its growing body passes the budget.
    c = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    c.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % MIB + b" " * MIB + b"\r\n"
    try:
        for _ in range(8):
            c.sendall(chunk)
        c.sendall(b"0\r\n\r\n")
        st, hdr, data = read_response(c)
    except OSError as e:
        st, hdr, data = repr(e), {}, b""
    ck.check("budget_chunked_body_refused_as_it_grows", unavailable(st, hdr, data),
             (st, hdr, data[:300]))
    c.close()
    # A completes; its reservation goes back: an 8 MiB body fits again.
    a.sendall(held[1000:])
    st, _, data = read_response(a)
    ck.check("budget_held_request_served", st == 200 and json.loads(data) == {"y": [1, 0]},
             (st, data[:200]))
    a.close()
    st, _, data = d.request("POST", "/v1/forward", padded_forward(8 * MIB))
    ck.check("budget_given_back_on_completion", st == 200, (st, data[:200]))


def burst_checks(ck, d):
    xs = [-2.0 if i % 3 == 0 else float(i % 7) for i in range(N)]
    body = json.dumps({"activation": "relu", "x_b64": b64_floats(xs)}).encode()
    want = b64_floats([max(x, 0.0) for x in xs])
    request = http_request_bytes("POST", "/v1/forward", body)
    results = []
    lock = threading.Lock()
    go = threading.Event()

    def one():
        go.wait()
        try:
            s = socket.create_connection(("127.0.0.1", d.port), timeout=60)
            s.sendall(request)
            st, hdr, data = read_response(s)
            s.close()
            if st == 200:
                ok = json.loads(data).get("y_b64") == want
                r = "200" if ok else "wrong answer"
            else:
                r = "503" if unavailable(st, hdr, data) else "status %d %r" % (st, data[:100])
        except OSError as e:  # a reset, a broken pipe
            r = repr(e)
        with lock:
            results.append(r)

    pid = d.proc.pid
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")  # VmHWM := VmRSS
    base = status_kb(pid, "VmRSS")
    threads = [threading.Thread(target=one) for _ in range(BURST)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(120)
    peak = status_kb(pid, "VmHWM")
    bad = [r for r in results if r not in ("200", "503")]
    print("# %d answers: %d 200, %d 503" % (len(results), results.count("200"), results.count("503")))
    ck.check("budget_burst_200_or_503_never_reset",
             len(results) == BURST and not bad and "200" in results and "503" in results,
             "%d answers: %d 200, %d 503, others %s" % (len(results), results.count("200"),
                                                        results.count("503"), bad[:5]))
    # What the budget lets the daemon hold: for each request it admits at
    # once (BUDGET // body), its body, decoded input, output and answer,
    # each in whole 2 MiB pool blocks; the pool's idle cap (half the
    # budget); slack for malloc, connections and the runtime.
    def blocks(n):
        return (n + 2 * MIB - 1) // (2 * MIB) * 2 * MIB
    jobs = max(1, BUDGET // len(body))
    bound = jobs * (2 * blocks(len(body)) + 2 * blocks(N * 4)) + BUDGET // 2 + 24 * MIB
    print("# burst: %d x %.1f MB bodies, peak RSS %.1f MiB over %.1f MiB before (bound %.1f MiB)"
          % (BURST, len(body) / 1e6, (peak - base) / MIB, base / MIB, bound / MIB))
    ck.check("budget_burst_peak_rss_bounded", peak - base <= bound,
             "peak %.1f MiB over the start, bound %.1f MiB" % ((peak - base) / MIB, bound / MIB))
    # Given back: the pool unmaps blocks idle for 5 s, malloc is trimmed.
    deadline = time.time() + 12
    rss = status_kb(pid, "VmRSS")
    while time.time() < deadline and rss > base + 24 * MIB:
        time.sleep(0.5)
        rss = status_kb(pid, "VmRSS")
    print("# after the burst: RSS %.1f MiB over the start" % ((rss - base) / MIB))
    ck.check("budget_memory_given_back_after_burst", rss <= base + 24 * MIB,
             "RSS %.1f MiB over the start 12 s after the burst (peak %.1f)" %
             ((rss - base) / MIB, (peak - base) / MIB))


def metrics_checks(ck, d):
    """The memory gauges of /metrics agree with /proc and the flags."""
    st, _, data = d.request("GET", "/metrics")
    gauges = {}
    for line in data.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            gauges[name] = float(value)
    rss = status_kb(d.proc.pid, "VmRSS")
    shown = gauges.get("process_resident_memory_bytes", -1)
    ck.check("metrics_rss_matches_proc", st == 200 and abs(shown - rss) <= 8 * MIB,
             (shown, rss))
    ck.check("metrics_peak_at_least_rss",
             gauges.get("leakycld_resident_memory_peak_bytes", -1) >= shown > 0, gauges)
    ck.check("metrics_inflight_limit_is_the_flag",
             gauges.get("leakycld_inflight_limit_bytes") == BUDGET and
             gauges.get("leakycld_inflight_bytes") == 0, gauges)
    have = [k for k in ('leakycld_pool_bytes{state="in_use"}', 'leakycld_pool_bytes{state="idle"}',
                        "leakycld_pool_blocks", 'leakycld_malloc_bytes{state="in_use"}',
                        'leakycld_malloc_bytes{state="free"}') if k in gauges]
    ck.check("metrics_pool_and_malloc_gauges", len(have) == 5, sorted(gauges))


def main():
    ck = Checks()
    d = Daemon("--max-inflight-bytes", "16m", "--quiet")
    try:
        # Warm: the first big job's buffers and the runtime's.
        held_budget_checks(ck, d)
        burst_checks(ck, d)
        metrics_checks(ck, d)
        ck.check("budget_daemon_alive", d.alive())
    finally:
        rc = d.stop()
        ck.check("budget_clean_exit", rc == 0, (rc, d.stderr()[-2000:]))
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
