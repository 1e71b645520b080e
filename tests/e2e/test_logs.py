#!/usr/bin/env python3
"""test_logs.py - end-to-end: the access log (text and JSON, every field, a
200 and the 4xx with their error codes), X-Request-ID (echoed on every
answer, made up when absent or not a sane token, unique), --log-level
(error, warn and --quiet, info, debug), the start-up lines (devices,
program cache, limits, warm-up), and the /metrics series added with them
(in flight, queued jobs, build info, process_*, the /v2 model label),
read by a strict Prometheus text parser."""
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import prom_text  # noqa: E402
from harness import (ROOT, Checks, Daemon, daemon_binary, daemon_builds,  # noqa: E402
                     http_request_bytes, read_response)

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
HEX16 = re.compile(r"[0-9a-f]{16}")
REQUEST_KEYS = {"time", "level", "type", "client", "request_id", "method", "path", "status",
                "bytes", "duration_ms", "error", "end"}
MESSAGE_KEYS = {"time", "level", "type", "message"}
FORWARD_OK = '{"activation":"relu","x":[-1,2]}'
FORWARD_BAD = '{"x":[1]}'


def header_version():
    with open(os.path.join(ROOT, "host", "include", "leakycl.h")) as f:
        return re.search(r'#define LEAKYCL_VERSION "([^"]+)"', f.read()).group(1)


def raw_exchange(d, data, method="GET"):
    """Sends raw request bytes on a new connection; returns (status, headers,
    body, the client's "IP:port")."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    try:
        client = "%s:%d" % s.getsockname()[:2]
        s.sendall(data)
        st, hdr, body = read_response(s, method)
        return st, hdr, body, client
    finally:
        s.close()


def send(d, method, path, body=None, headers=None):
    data = http_request_bytes(method, path, body or b"", headers)
    return raw_exchange(d, data, method)


def log_lines(d, settle=0.3):
    """The stderr lines once the completion callbacks of the requests have run."""
    time.sleep(settle)
    return d.stderr().splitlines()


def request_line(lines, request_id):
    found = [line for line in lines if " %s " % request_id in line and not line.count("leakycld:")]
    return found[0].split(" ") if len(found) == 1 else None


class Tagged:
    """Checks whose names all get a prefix (the daemon build's tag)."""

    def __init__(self, ck, tag):
        self.ck, self.tag = ck, tag

    def check(self, name, cond, detail=""):
        return self.ck.check(self.tag + name, cond, detail)


def text_checks(ck, tag, binary):
    d = Daemon(binary=binary)
    ck = Tagged(ck, tag)
    try:
        st, hdr, _, client = send(d, "GET", "/v1/health", headers={"X-Request-ID": "given-id.1"})
        ck.check("request_id_echoed", st == 200 and hdr.get("x-request-id") == "given-id.1", hdr)
        st4, hdr4, body4, client4 = send(d, "POST", "/v1/forward", FORWARD_BAD)
        gen = hdr4.get("x-request-id", "")
        ck.check("request_id_made_up_on_400", st4 == 400 and HEX16.fullmatch(gen), hdr4)
        st404, hdr404, _, _ = send(d, "GET", "/v1/nothing-here")
        st405, hdr405, _, _ = send(d, "DELETE", "/v1/health")
        ck.check("request_id_on_early_errors", st404 == 404 and st405 == 405 and
                 HEX16.fullmatch(hdr404.get("x-request-id", "")) and
                 HEX16.fullmatch(hdr405.get("x-request-id", "")), (hdr404, hdr405))
        ids = []
        for _ in range(24):
            ids.append(send(d, "POST", "/v1/forward", FORWARD_OK)[1].get("x-request-id"))
        ck.check("request_ids_unique", len(set(ids)) == 24 and all(HEX16.fullmatch(i or "")
                                                                  for i in ids), ids)
        hostile_checks(ck, d)
        lines = log_lines(d)
        now = time.time()
        f = request_line(lines, "given-id.1")
        ok = f is not None and len(f) == 10 and re.fullmatch(TIME, f[0]) is not None and \
            f[1] == client and f[2] == "given-id.1" and \
            f[3:7] == ["GET", "/v1/health", "200", "15"] and \
            re.fullmatch(r"\d+\.\d{3}ms", f[7]) is not None and f[8:] == ["-", "completed"]
        ck.check("text_line_200_fields", ok, (f, client))
        if f:
            stamp = time.mktime(time.strptime(f[0][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            ck.check("text_line_time_is_utc_now", abs(stamp - now) < 120, (f[0], now))
        f = request_line(lines, gen)
        ck.check("text_line_400_error_code",
                 f is not None and f[1] == client4 and f[3:6] == ["POST", "/v1/forward", "400"] and
                 f[6] == str(len(body4)) and f[8:] == ["invalid_argument", "completed"], f)
        f404 = request_line(lines, hdr404.get("x-request-id", "?"))
        f405 = request_line(lines, hdr405.get("x-request-id", "?"))
        ck.check("text_line_404_405_codes", f404 and f405 and f404[5] == "404" and
                 f404[8] == "not_found" and f405[5] == "405" and f405[8] == "method_not_allowed",
                 (f404, f405))
        ck.check("text_every_made_up_id_logged", all(request_line(lines, i) for i in ids),
                 [i for i in ids if not request_line(lines, i)][:3])
        startup_checks(ck, lines, "info_")
        ck.check("info_logs_200s", any(" 200 " in line for line in lines), lines[-5:])
        metrics_checks(ck, d)
    finally:
        rc = d.stop()
        err = d.stderr()
        ck.check("text_daemon_exit_0", rc == 0 and "Sanitizer" not in err and
                 "runtime error" not in err, err[-2000:])


def hostile_checks(ck, d):
    long_id = "A" * 10000
    st, hdr, _, _ = raw_exchange(d, b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Request-ID: " +
                                 long_id.encode() + b"\r\n\r\n")
    ck.check("hostile_10k_id_replaced", st == 200 and HEX16.fullmatch(hdr.get("x-request-id", "")),
             (st, hdr.get("x-request-id", "")[:40]))
    for name, raw in (("control", b"ab\x01cd"), ("escape", b"ab\x1b[31mcd"), ("space", b"a b"),
                      ("non_ascii", b"caf\xc3\xa9"), ("129_chars", b"b" * 129)):
        st, hdr, _, _ = raw_exchange(d, b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Request-ID: " +
                                     raw + b"\r\n\r\n")
        ck.check("hostile_id_%s_replaced" % name,
                 st in (200, 400) and HEX16.fullmatch(hdr.get("x-request-id", "")), (st, hdr))
    st, hdr, _, _ = send(d, "GET", "/v1/health", headers={"X-Request-ID": "c" * 128})
    ck.check("id_of_128_chars_kept", hdr.get("x-request-id") == "c" * 128, hdr)
    st, hdr, _, _ = raw_exchange(d, b"GET /v1/he\x7fal\x01th HTTP/1.1\r\nHost: x\r\n\r\n")
    err = log_lines(d)
    ck.check("hostile_text_not_logged",
             long_id not in "\n".join(err) and not any(c in "\n".join(err) for c in "\x01\x1b\x7f"),
             [line[:120] for line in err[-8:]])


def startup_checks(ck, lines, tag):
    text = "\n".join(lines)
    dev = [line for line in lines if "leakycld: device 0: " in line and " platform " in line]
    ck.check(tag + "startup_device_line",
             len(dev) == 1 and re.search(r'variant "[a-z]+ vw\d+ [^"]*" from (default|tuned|env|'
                                         r'bundle|set); the default device', dev[0]), dev)
    ck.check(tag + "startup_program_cache", re.search(r"leakycld: program cache: \S", text), text)
    ck.check(tag + "startup_limits",
             re.search(r"limits: --max-body \d+ bytes", text) and
             all(w in text for w in ("--max-elements 16777216", "--max-connections 256",
                                     "--threads 64", "--max-inflight-bytes ")), text[:1500])
    ck.check(tag + "startup_warm_up_progress",
             "device 0: building and warming up its kernels" in text and
             re.search(r"device 0: kernels ready in \d+\.\d s", text), text[:1500])
    ck.check(tag + "startup_lines_stamped",
             all(re.match(TIME + " ", line) for line in lines if "leakycld: " in line), lines[:3])


def scrape(d):
    st, hdr, body = d.request("GET", "/metrics")
    return st, hdr, body.decode()


def metrics_checks(ck, d):
    # A /v2 inference, for the model label.
    st, _, _ = d.request("POST", "/v2/models/relu/infer",
                         '{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[-1,1]}]}')
    ck.check("v2_infer_200", st == 200, st)
    samples = None
    for _ in range(20):  # completion callbacks run just after the answers
        st, hdr, text = scrape(d)
        try:
            types, helps, samples = prom_text.parse(text)
        except ValueError as e:
            ck.check("metrics_strict_parse", False, e)
            return
        if prom_text.value(samples, "leakycld_requests_in_flight") == 0:
            break
        time.sleep(0.1)
    ck.check("metrics_strict_parse", st == 200 and "text/plain" in hdr.get("content-type", ""),
             hdr)
    v = lambda name, **labels: prom_text.value(samples, name, **labels)  # noqa: E731
    ck.check("metrics_help_for_every_family", set(helps) == set(types),
             set(types) ^ set(helps))
    ck.check("metrics_in_flight_0_when_idle", v("leakycld_requests_in_flight") == 0 and
             types.get("leakycld_requests_in_flight") == "gauge", v("leakycld_requests_in_flight"))
    ck.check("metrics_queued_jobs", v("leakycld_queued_jobs") == 0 and
             v("leakycld_device_queue_depth", device="0") == 0, v("leakycld_queued_jobs"))
    info = [lab for n, lab, val in samples if n == "leakycld_build_info" and val == 1]
    ck.check("metrics_build_info", len(info) == 1 and info[0].get("version") == header_version() and
             re.fullmatch(r"\d+\.\d+", info[0].get("opencl", "")) and
             re.fullmatch(r"\d+\.\d+\.\d+", info[0].get("libmicrohttpd", "")), info)
    fds, start, cpu = (v("process_open_fds"), v("process_start_time_seconds"),
                       v("process_cpu_seconds_total"))
    ck.check("metrics_open_fds", fds is not None and 0 < fds <= v("process_max_fds"), fds)
    ck.check("metrics_start_time_near_now", start is not None and
             time.time() - 600 < start <= time.time() + 5, (start, time.time()))
    ck.check("metrics_cpu_seconds", cpu is not None and cpu > 0 and
             types.get("process_cpu_seconds_total") == "counter", cpu)
    ck.check("metrics_resident_and_inflight_bytes", v("process_resident_memory_bytes") > 0 and
             v("leakycld_inflight_bytes") is not None, v("process_resident_memory_bytes"))
    ck.check("metrics_v2_model_label",
             v("leakycld_requests_total", path="/v2/models/{name}/infer", model="relu",
               status="200") == 1 and
             v("leakycld_request_duration_seconds_count", path="/v2/models/{name}/infer",
               model="relu") == 1, [s for s in samples if s[1].get("model")][:4])
    ck.check("metrics_v1_path_label", v("leakycld_requests_total", path="/v1/forward",
                                        status="400") == 1, "no /v1/forward 400")
    # One request held mid-body is in flight.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    try:
        s.sendall(http_request_bytes("POST", "/v1/forward", FORWARD_OK)[:-5])
        time.sleep(0.3)
        _, _, text = scrape(d)
        held = prom_text.value(prom_text.parse(text)[2], "leakycld_requests_in_flight")
        s.sendall(FORWARD_OK[-5:].encode())
        st, _, _ = read_response(s)
    finally:
        s.close()
    ck.check("metrics_in_flight_counts_a_held_request", held == 1 and st == 200, (held, st))


def json_checks(ck):
    d = Daemon("--log-format", "json")
    try:
        send(d, "GET", "/v1/health", headers={"X-Request-ID": "json-ok"})
        send(d, "POST", "/v1/forward", FORWARD_BAD, headers={"X-Request-ID": "json-bad"})
        lines = log_lines(d)
    finally:
        rc = d.stop()
    objs, bad = [], []
    for line in lines:
        try:
            objs.append(json.loads(line))
        except ValueError:
            bad.append(line)
    ck.check("json_every_line_parses", not bad and rc == 0, bad[:3])
    reqs = {o.get("request_id"): o for o in objs if o.get("type") == "request"}
    msgs = [o for o in objs if o.get("type") == "message"]
    ck.check("json_request_keys", reqs and all(set(o) == REQUEST_KEYS for o in reqs.values()),
             [sorted(o) for o in reqs.values()][:2])
    ck.check("json_message_keys", msgs and all(set(o) == MESSAGE_KEYS for o in msgs), msgs[:2])
    ok, bad4 = reqs.get("json-ok", {}), reqs.get("json-bad", {})
    ck.check("json_200_fields",
             ok.get("level") == "info" and ok.get("method") == "GET" and
             ok.get("path") == "/v1/health" and ok.get("status") == 200 and ok.get("bytes") == 15 and
             isinstance(ok.get("duration_ms"), float) and ok.get("error") is None and
             ok.get("end") == "completed" and re.fullmatch(r"127\.0\.0\.1:\d+", ok.get("client", ""))
             and re.fullmatch(TIME, ok.get("time", "")), ok)
    ck.check("json_400_fields", bad4.get("level") == "warn" and bad4.get("status") == 400 and
             bad4.get("error") == "invalid_argument", bad4)
    ck.check("json_startup_notices",
             any(o["level"] == "notice" and o["message"].startswith("device 0: ") for o in msgs),
             msgs[:3])


def level_checks(ck):
    for args, tag in ((["--log-level", "warn"], "warn_"), (["--quiet"], "quiet_")):
        d = Daemon(*args)
        try:
            send(d, "GET", "/v1/health", headers={"X-Request-ID": "lvl-ok"})
            send(d, "POST", "/v1/forward", FORWARD_BAD, headers={"X-Request-ID": "lvl-bad"})
            lines = log_lines(d)
        finally:
            d.stop()
        ck.check(tag + "hides_200s", request_line(lines, "lvl-ok") is None, lines[-4:])
        ck.check(tag + "keeps_4xx", (request_line(lines, "lvl-bad") or [""] * 9)[8] ==
                 "invalid_argument", lines[-4:])
        startup_checks(ck, lines, tag)
    # error: 5xx only, no start-up lines (a LEAKYCL_FAULT job answers 503).
    d = Daemon("--log-level", "error", env=dict(os.environ, LEAKYCL_FAULT="enqueue"))
    try:
        st5, hdr5, _, _ = send(d, "POST", "/v1/forward", FORWARD_OK)
        send(d, "POST", "/v1/forward", FORWARD_BAD, headers={"X-Request-ID": "err-bad"})
        lines = log_lines(d)
    finally:
        d.stop()
    f = request_line(lines, hdr5.get("x-request-id", "?"))
    ck.check("error_level_keeps_5xx", st5 == 503 and f and f[5] == "503" and f[8] == "device_error",
             (st5, lines))
    ck.check("error_level_hides_4xx_and_startup", request_line(lines, "err-bad") is None and
             not any("device 0:" in line or "LEAKYCL_FAULT" in line for line in lines), lines)
    d = Daemon("--log-level", "debug")
    try:
        _, _, _, client = send(d, "GET", "/v1/health")
        lines = log_lines(d)
    finally:
        d.stop()
    ck.check("debug_logs_connections", any("connection from %s opened" % client in line
                                           for line in lines) and
             any("connection from %s closed" % client in line for line in lines), lines[-4:])


def flag_checks(ck):
    for args in (["--log-level", "verbose"], ["--log-level", "notice"], ["--log-format", "xml"],
                 ["--log-level"]):
        p = subprocess.run([daemon_binary(), "--listen", "127.0.0.1:0"] + args, capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        ck.check("rejects_" + "_".join(a.strip("-") for a in args).replace("-", "_"),
                 p.returncode == 2 and args[0].encode() in p.stderr and b"listening" not in p.stdout,
                 (p.returncode, p.stderr))
    out = subprocess.run([daemon_binary(), "--help"], capture_output=True, text=True).stdout
    ck.check("help_lists_log_flags", "--log-level LEVEL" in out and "--log-format" in out and
             "the same as --log-level warn" in out, out[-1200:])


def main():
    ck = Checks()
    for tag, binary in daemon_builds(ck):
        text_checks(ck, tag, binary)
    json_checks(ck)
    level_checks(ck)
    flag_checks(ck)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
