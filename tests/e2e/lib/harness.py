"""harness.py - starts leakycld on port 0 for the end-to-end tests, talks
HTTP to it with the standard library, and prints PASS/FAIL lines."""
import http.client
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def build_dir():
    return os.path.join(ROOT, os.environ.get("LEAKYCL_BUILD", "build"))


def daemon_binary(build=None):
    return os.path.join(ROOT, build or os.environ.get("LEAKYCL_BUILD", "build"), "bin", "leakycld")


class Daemon:
    """A leakycld process on 127.0.0.1:<free port>; stop() ends it."""

    def __init__(self, *args, binary=None, device=None, env=None):
        self.binary = binary or daemon_binary()
        self.errfile = tempfile.TemporaryFile()
        cmd = [self.binary, "--listen", "127.0.0.1:0",
               "--device", device or os.environ.get("LEAKYCL_TEST_DEVICE", "cpu")] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.errfile,
                                     env=env or os.environ.copy())
        self.port = None
        line = b""
        deadline = time.time() + 120
        while time.time() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
                if b"\n" in line:
                    break
            elif self.proc.poll() is not None:
                break
        text = line.decode(errors="replace").strip()
        if not text.startswith("leakycld listening on "):
            self.stop(signal.SIGKILL)
            raise RuntimeError("daemon did not start: %r\n%s" % (text, self.stderr()))
        self.port = int(text.rsplit(":", 1)[1])

    def connect(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=60):
        """Returns (status, headers dict lower-cased, body bytes)."""
        conn = self.connect(timeout)
        try:
            if isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def call(self, method, path, obj=None, headers=None, raw=None):
        """Sends obj as JSON (or raw bytes/str); returns (status, parsed JSON or text, raw)."""
        body = raw if raw is not None else (json.dumps(obj) if obj is not None else None)
        status, hdrs, data = self.request(method, path, body, headers)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return status, parsed, data

    def alive(self):
        try:
            status, _, _ = self.request("GET", "/v1/health", timeout=10)
            return status == 200
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode

    def stderr(self):
        self.errfile.seek(0)
        return self.errfile.read().decode(errors="replace")


class Checks:
    """PASS/FAIL lines, one a check; exit status 1 when one failed."""

    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("PASS " + name)
        else:
            self.failed += 1
            print("FAIL " + name)
            for line in str(detail).splitlines()[:20]:
                print("  " + line)
        sys.stdout.flush()
        return cond

    def skip(self, name, why=""):
        print("SKIP %s%s" % (name, (" (" + why + ")") if why else ""))

    def done(self):
        print("# %d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def f32(v):
    """v rounded to float32 (as a Python float)."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def same_f32(a, b):
    """Equal as float32, NaN equal to NaN, -0 distinct from +0."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return struct.pack("<f", a) == struct.pack("<f", b)


def decode_json_floats(values):
    """JSON numbers and "NaN"/"Infinity"/"-Infinity" strings to floats."""
    out = []
    for v in values:
        out.append(float(v) if isinstance(v, str) else v)
    return out


def b64_floats(values):
    import base64
    return base64.b64encode(struct.pack("<%df" % len(values), *values)).decode()


def floats_b64(text):
    import base64
    raw = base64.b64decode(text)
    return list(struct.unpack("<%df" % (len(raw) // 4), raw))


def read_response(sock, method="POST"):
    """Reads one HTTP response from a connected socket (the request already
    sent); returns (status, headers dict lower-cased, body bytes). Raises
    OSError or http.client.HTTPException when the server closes first."""
    resp = http.client.HTTPResponse(sock, method=method)
    try:
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        resp.close()


def http_request_bytes(method, path, body=b"", headers=None):
    """The raw bytes of an HTTP/1.1 request with a Content-Length."""
    if isinstance(body, str):
        body = body.encode()
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path)
    for k, v in (headers or {}).items():
        head += "%s: %s\r\n" % (k, v)
    if body or method == "POST":
        head += "Content-Length: %d\r\nContent-Type: application/json\r\n" % len(body)
    return head.encode() + b"\r\n" + body


def closed_by_peer(sock, timeout):
    """Reads and discards until the peer closes (True) or timeout seconds
    pass without that (False); returns (closed, bytes read)."""
    sock.settimeout(timeout)
    total = 0
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            sock.settimeout(max(0.01, deadline - time.time()))
            chunk = sock.recv(1 << 16)
            if not chunk:
                return True, total
            total += len(chunk)
    except socket.timeout:
        return False, total
    except OSError:
        return True, total  # reset by the peer
    return False, total


def daemon_builds(ck):
    """[(tag, binary)]: the normal daemon, and the ASan/UBSan one when it is built
    (a SKIP line otherwise)."""
    builds = [("", daemon_binary())]
    san = daemon_binary("build-san")
    if os.path.exists(san) and os.path.realpath(san) != os.path.realpath(daemon_binary()):
        builds.append(("asan_", san))
    else:
        ck.skip("asan_daemon", "no build-san/bin/leakycld")
    return builds


def on_each_build(ck, args, run):
    """Runs run(ck, daemon, tag) against a daemon started with args on each of
    daemon_builds; each must then exit 0 with no sanitizer report."""
    for tag, binary in daemon_builds(ck):
        d = Daemon(*args, binary=binary)
        try:
            run(ck, d, tag)
        finally:
            rc = d.stop()
            err = d.stderr()
            ck.check(tag + "clean_exit_0", rc == 0, "exit status %s\n%s" % (rc, err[-3000:]))
            ck.check(tag + "no_sanitizer_report", "Sanitizer" not in err and "runtime error" not in err,
                     err[-3000:])
