#!/usr/bin/env python3
"""test_nginx.py - server/deploy/nginx.conf in front of two daemons: nginx
(Debian's, run as the current user with a generated config in a temp dir)
spreads requests over both; one daemon is killed while requests are in
flight, and every request still succeeds (retried on the other) with values
checked against float64 formulas."""
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
    """The deploy snippet with this test's ports, inside a main config whose
    every path is under tmp (pid, logs, temp files)."""
    with open(CONF) as f:
        snippet = f.read()
    servers = "".join("    server 127.0.0.1:%d max_fails=1 fail_timeout=5s;\n" % p
                      for p in upstreams)
    snippet, n = re.subn(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, snippet, count=1)
    assert n == 1, "no upstream server lines in " + CONF
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


def main():
    ck = Checks()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    if not nginx:
        ck.check("nginx_installed", False, "no nginx: scripts/deps.sh installs Debian's nginx")
        return ck.done()
    tmp = tempfile.mkdtemp(prefix="leakycl-nginx-")
    d1 = d2 = proc = None
    try:
        d1, d2 = Daemon("--quiet"), Daemon("--quiet")
        port = free_port()
        conf = nginx_config(tmp, port, [d1.port, d2.port])
        t = subprocess.run([nginx, "-t", "-p", tmp, "-e", os.path.join(tmp, "error.log"),
                            "-c", conf], capture_output=True, text=True)
        ck.check("nginx_accepts_deploy_config", t.returncode == 0, t.stderr)
        proc = start_nginx(nginx, tmp, conf, port)

        rnd = random.Random(7)
        errors = [one_request(port, rnd, i) for i in range(30)]
        ck.check("requests_through_nginx_correct", not any(errors), [e for e in errors if e][:5])
        ck.check("both_daemons_served", jobs_ok(d1) > 0 and jobs_ok(d2) > 0,
                 (jobs_ok(d1), jobs_ok(d2)))

        # Four clients send requests while d1 is killed (SIGKILL: a crash,
        # connections reset mid-request); every request must still succeed.
        results, lock = [], threading.Lock()

        def client(seed):
            r = random.Random(seed)
            for i in range(40):
                try:
                    e = one_request(port, r, i)
                except Exception as exc:  # transport failures count too
                    e = "exception: %r" % exc
                with lock:
                    results.append(e)
                time.sleep(0.005)

        threads = [threading.Thread(target=client, args=(100 + k,)) for k in range(4)]
        for th in threads:
            th.start()
        while True:
            with lock:
                if len(results) >= 40:
                    break
            time.sleep(0.01)
        d1.proc.send_signal(signal.SIGKILL)
        d1.proc.wait()
        for th in threads:
            th.join()
        errs = [e for e in results if e]
        ck.check("every_request_succeeds_across_a_killed_daemon",
                 len(results) == 160 and not errs, errs[:5])
        after = [one_request(port, rnd, i) for i in range(15)]
        ck.check("requests_after_the_kill_go_to_the_survivor", not any(after),
                 [e for e in after if e][:5])
        ck.check("survivor_alive", d2.alive(), d2.stderr()[-2000:])
    except RuntimeError as e:
        ck.check("nginx_started", False, str(e))
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for d in (d1, d2):
            if d:
                d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
