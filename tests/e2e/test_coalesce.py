#!/usr/bin/env python3
"""test_coalesce.py - concurrent small requests share device launches
(server/exec/coalesce.c): 32 client threads send forward and backward requests
at once; every answer must equal a float64 oracle written here (y, dx and
dalpha), a bad request among them fails alone, and the daemon makes fewer
library calls than it answered jobs. Also against the ASan/UBSan daemon.

Run from the repository root: LEAKYCL_BUILD=build /usr/bin/python3 tests/e2e/test_coalesce.py"""
import os
import random
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Checks, Daemon, daemon_builds, f32, same_f32  # noqa: E402

THREADS = 32
PER_THREAD = 12


def oracle(kind, alpha, x, dy):
    """(y or dx, dalpha or None) of prelu/leaky_relu with a shared alpha."""
    a = f32(alpha)
    if kind == "forward":
        return [v if v > 0 else f32(a * v) for v in x], None
    dx = [g if v > 0 else f32(a * g) for v, g in zip(x, dy)]
    dalpha = sum(g * v for v, g in zip(x, dy) if not v > 0)  # exact in double here
    return dx, dalpha


def metric(d, name):
    _, text, _ = d.call("GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def run(ck, tag, binary):
    d = Daemon(binary=binary)
    try:
        calls0 = metric(d, "leakycld_library_calls_total")
        problems, answered = [], [0]
        lock = threading.Lock()

        def client(t):
            rnd = random.Random(1000 + t)
            for i in range(PER_THREAD):
                n = rnd.randint(1, 300)
                x = [rnd.randint(-64, 64) / 8.0 for _ in range(n)]
                dy = [rnd.randint(-64, 64) / 16.0 for _ in range(n)]
                alpha = rnd.choice([0.25, 0.5, 0.125])
                if (t + i) % 29 == 5:  # a bad request among the good ones
                    st, body, _ = d.call("POST", "/v1/forward",
                                         {"activation": "prelu", "alpha": alpha, "x": x + ["a"]})
                    ok = st == 400 and body["error"]["code"] == "invalid_argument"
                    why = "bad request answered %d" % st
                elif i % 2:
                    st, body, _ = d.call("POST", "/v1/backward", {"activation": "prelu",
                                                                  "alpha": alpha, "x": x, "dy": dy})
                    want, want_da = oracle("backward", alpha, x, dy)
                    ok = (st == 200 and all(same_f32(u, v) for u, v in zip(body["dx"], want))
                          and len(body["dx"]) == n
                          and abs(body["dalpha"][0] - want_da) <= 1e-6 * max(1.0, abs(want_da)))
                    why = "backward n=%d: %s" % (n, str(body)[:200])
                else:
                    st, body, _ = d.call("POST", "/v1/forward", {"activation": "leaky_relu",
                                                                 "alpha": alpha, "x": x})
                    want, _ = oracle("forward", alpha, x, None)
                    ok = st == 200 and len(body["y"]) == n and all(
                        same_f32(u, v) for u, v in zip(body["y"], want))
                    why = "forward n=%d: %s" % (n, str(body)[:200])
                with lock:
                    answered[0] += 1
                    if not ok:
                        problems.append(why)

        threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        ck.check(tag + "concurrent_answers_exact",
                 not problems and answered[0] == THREADS * PER_THREAD, "\n".join(problems[:5]))
        calls1 = metric(d, "leakycld_library_calls_total")
        good = THREADS * PER_THREAD - sum(1 for t in range(THREADS) for i in range(PER_THREAD)
                                          if (t + i) % 29 == 5)
        ck.check(tag + "launches_shared",
                 calls0 is not None and calls1 is not None and calls1 - calls0 < good,
                 "%s library calls for %d jobs" % (None if calls1 is None else calls1 - calls0,
                                                   good))
        st, _, _ = d.call("GET", "/v1/health")
        ck.check(tag + "alive_after", st == 200)
    finally:
        d.stop()


def main():
    ck = Checks()
    for tag, binary in daemon_builds(ck):
        run(ck, tag, binary)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
