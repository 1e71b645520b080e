#!/usr/bin/env python3
"""test_nginx.py - server/deploy/nginx.conf in front of a cluster of three
daemons (issue 14): nginx (Debian's, run as the current user with a
generated config in a temp dir) spreads requests over all three; under load
(wrk posting small /v1/forward jobs, and Python clients whose answers are
checked against float64 formulas) one daemon is killed with SIGKILL and
restarted on the same port a second later. Every request must still succeed
(nginx retries it on another daemon: proxy_next_upstream ... non_idempotent,
safe because a job is a pure function and a POST changes nothing), and the
restarted daemon must be sent requests again."""
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import ROOT, Checks, Daemon, b64_floats, f32, floats_b64, same_f32  # noqa: E402

CONF = os.path.join(ROOT, "server", "deploy", "nginx.conf")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def nginx_config(tmp, port, upstreams):
    """The deploy snippet with this test's ports (one server line a daemon,
    each with the parameters the file gives its daemons: max_fails,
    fail_timeout), inside a main config whose every path is under tmp (pid,
    logs, temp files)."""
    with open(CONF) as f:
        snippet = f.read()
    m = re.search(r"((?:    server 127\.0\.0\.1:\d+([^\n]*)\n)+)", snippet)
    assert m, "no upstream server lines in " + CONF
    servers = "".join("    server 127.0.0.1:%d%s\n" % (p, m.group(2)) for p in upstreams)
    snippet = snippet[:m.start()] + servers + snippet[m.end():]
    snippet, n = re.subn(r"listen 127\.0\.0\.1:\d+;", "listen 127.0.0.1:%d;" % port, snippet)
    assert n == 1, "no listen line in " + CONF
    with open(os.path.join(tmp, "leakycld.conf"), "w") as f:
        f.write(snippet)
    temps = "".join("    %s_temp_path %s;\n" % (k, os.path.join(tmp, k))
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = ("worker_processes 1;\npid %s;\nerror_log %s warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n    access_log %s;\n%s    include %s;\n}\n"
            % (os.path.join(tmp, "nginx.pid"), os.path.join(tmp, "error.log"),
               os.path.join(tmp, "access.log"), temps, os.path.join(tmp, "leakycld.conf")))
    path = os.path.join(tmp, "nginx.conf")
    with open(path, "w") as f:
        f.write(main)
    return path


def start_nginx(nginx, tmp, conf, port):
    cmd = [nginx, "-p", tmp, "-e", os.path.join(tmp, "error.log"), "-c", conf,
           "-g", "daemon off;"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("nginx exited: " + proc.stderr.read().decode(errors="replace"))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("nginx did not listen on %d" % port)


def post(port, path, obj, timeout=60):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=json.dumps(obj),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def leaky(x, alpha):
    a = f32(alpha)
    return [v if v > 0 else f32(a * v) for v in x]


def same(got, want):
    """Element-wise equal as float32 (the daemon prints the shortest text)."""
    return (isinstance(got, list) and len(got) == len(want) and
            all(same_f32(g, w) for g, w in zip(got, want)))


def one_request(port, rnd, i):
    """A forward (JSON or base64) or a prelu backward; returns an error text
    or None when the answer is right."""
    n = rnd.randint(1, 64)
    x = [f32(rnd.uniform(-4, 4)) for _ in range(n)]
    if i % 3 == 2:
        dy = [f32(rnd.uniform(-1, 1)) for _ in range(n)]
        st, body = post(port, "/v1/backward",
                        {"activation": "prelu", "alpha": 0.25, "x": x, "dy": dy})
        if st != 200:
            return "backward %d: %s" % (st, body)
        want_dx = [g if v > 0 else f32(0.25 * g) for v, g in zip(x, dy)]
        want_da = sum(g * v for v, g in zip(x, dy) if v <= 0)
        scale = sum(abs(g * v) for v, g in zip(x, dy) if v <= 0) + 1e-30
        if not same(body.get("dx"), want_dx) or abs(body["dalpha"][0] - want_da) > 1e-6 * scale:
            return "backward values: %s" % body
        return None
    alpha = rnd.choice([0.01, 0.1, 0.3])
    job = {"activation": "leaky_relu", "alpha": alpha}
    if i % 3 == 1:
        job["x_b64"], job["dtype"] = b64_floats(x), "float32"
    else:
        job["x"] = x
    st, body = post(port, "/v1/forward", job)
    if st != 200:
        return "forward %d: %s" % (st, body)
    y = floats_b64(body["y_b64"]) if "y_b64" in body else body.get("y")
    if not same(y, leaky(x, alpha)):
        return "forward values: %s" % body
    return None


def jobs_ok(d):
    st, hdrs, text = d.request("GET", "/metrics")
    m = re.search(rb'leakycld_jobs_total\{outcome="ok"\} (\d+)', text)
    return int(m.group(1)) if m else -1


def served(d):
    """Requests this daemon answered 2xx on /v1/ paths (its
    leakycld_requests_total; /metrics itself left out)."""
    st, hdrs, text = d.request("GET", "/metrics")
    return sum(int(n) for path, n in re.findall(
        rb'leakycld_requests_total\{path="(/v1/[^"]*)",status="2\d\d"\} (\d+)', text))


WRK_SECONDS = 9   # the kill at 1.5 s, the restart at ~2.5 s, fail_timeout=5s


def start_wrk(port):
    """wrk posting small /v1/forward jobs through nginx (None without wrk)."""
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    lua = os.path.join(ROOT, "tests", "bench", "small_forward.lua")
    return subprocess.Popen([wrk, "-t2", "-c16", "-d%ds" % WRK_SECONDS, "--timeout", "10s",
                             "-s", lua, "http://127.0.0.1:%d/v1/forward" % port],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_figures(text):
    """(requests, non-2xx/3xx, socket errors) from wrk's summary."""
    m = re.search(r"(\d+) requests in", text)
    total = int(m.group(1)) if m else -1
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    bad = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    sock = sum(int(g) for g in m.groups()) if m else 0
    return total, bad, sock


def main():
    ck = Checks()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    if not nginx:
        ck.check("nginx_installed", False, "no nginx: scripts/deps.sh installs Debian's nginx")
        return ck.done()
    tmp = tempfile.mkdtemp(prefix="leakycl-nginx-")
    daemons, proc, wrk = [], None, None
    try:
        daemons = [Daemon("--quiet", "--threads", "8") for _ in range(3)]
        port = free_port()
        conf = nginx_config(tmp, port, [d.port for d in daemons])
        t = subprocess.run([nginx, "-t", "-p", tmp, "-e", os.path.join(tmp, "error.log"),
                            "-c", conf], capture_output=True, text=True)
        ck.check("nginx_accepts_deploy_config", t.returncode == 0, t.stderr)
        proc = start_nginx(nginx, tmp, conf, port)

        rnd = random.Random(7)
        errors = [one_request(port, rnd, i) for i in range(30)]
        ck.check("requests_through_nginx_correct", not any(errors), [e for e in errors if e][:5])
        ck.check("all_three_daemons_served", all(jobs_ok(d) > 0 for d in daemons),
                 [jobs_ok(d) for d in daemons])

        # The cluster under load: wrk (small forwards, 16 connections) and
        # three Python clients whose answers are checked. At 1.5 s daemon 0
        # is killed (SIGKILL: a crash, its connections reset mid-request),
        # and a second later a new daemon takes its port. No client may see
        # a failure: nginx sends what failed on it to another daemon.
        results, lock, stop = [], threading.Lock(), threading.Event()

        def client(seed):
            r = random.Random(seed)
            i = 0
            while not stop.is_set():
                try:
                    e = one_request(port, r, i)
                except Exception as exc:  # transport failures count too
                    e = "exception: %r" % exc
                with lock:
                    results.append((time.time(), e))
                i += 1

        wrk = start_wrk(port)
        t0 = time.time()
        threads = [threading.Thread(target=client, args=(100 + k,)) for k in range(3)]
        for th in threads:
            th.start()
        time.sleep(1.5)
        victim = daemons[0]
        t_kill = time.time()
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        victim.stop()
        time.sleep(1.0)
        daemons[0] = Daemon("--quiet", "--threads", "8", "--listen", "127.0.0.1:%d" % victim.port)
        t_back = time.time()
        time.sleep(max(0.0, t0 + WRK_SECONDS - time.time()))
        stop.set()
        for th in threads:
            th.join()
        wrk_out = wrk.communicate(timeout=30)[0] if wrk else ""
        wrk = None

        back_during_load = served(daemons[0])
        errs = [e for _, e in results if e]
        down = sum(1 for ts, _ in results if t_kill <= ts <= t_back)
        total, bad, sock = wrk_figures(wrk_out) if wrk_out else (0, 0, 0)
        print("# %d checked requests (%d while daemon 0 was down, %.1f s), %d failed; "
              "wrk: %d requests, %d non-2xx, %d socket errors; restarted daemon: %d served "
              "during the load" % (len(results), down, t_back - t_kill, len(errs), total, bad,
                                   sock, back_during_load))
        ck.check("every_checked_request_succeeds_across_kill_and_restart",
                 len(results) > 0 and not errs, errs[:5])
        if wrk_out:
            ck.check("wrk_sees_no_failure", total > 0 and bad == 0 and sock == 0, wrk_out)
        else:
            ck.skip("wrk_sees_no_failure", "no wrk (Debian's wrk package)")
        ck.check("requests_served_while_a_daemon_was_down", down > 0, len(results))
        # nginx logs each failed try on the killed daemon (reset, refused)
        # before sending the request on: proof the kill hit live traffic.
        with open(os.path.join(tmp, "error.log"), errors="replace") as f:
            retried = sum(1 for line in f if "127.0.0.1:%d" % victim.port in line)
        print("# nginx logged %d failed tries on the killed daemon" % retried)
        ck.check("nginx_retried_what_the_killed_daemon_failed", retried > 0, retried)
        # The restarted daemon is sent requests again once its fail_timeout
        # is over (during the load, or now).
        after = []
        deadline = time.time() + 10
        while served(daemons[0]) == 0 and time.time() < deadline:
            after += [one_request(port, rnd, i) for i in range(6)]
        ck.check("restarted_daemon_serves_again", served(daemons[0]) > 0,
                 daemons[0].stderr()[-2000:])
        ck.check("requests_after_the_restart_correct", not any(after),
                 [e for e in after if e][:5])
        ck.check("others_alive", all(d.alive() for d in daemons[1:]),
                 [d.stderr()[-1000:] for d in daemons[1:]])
    except RuntimeError as e:
        ck.check("nginx_started", False, str(e))
    finally:
        if wrk and wrk.poll() is None:
            wrk.kill()
            wrk.wait()
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for d in daemons:
            d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
