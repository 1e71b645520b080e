#!/usr/bin/env python3
"""test_http_strict.py - end-to-end: HTTP/1.1 framing and syntax the daemon
refuses with a JSON 400 and a closed connection, promptly: two different
Content-Lengths, Content-Length with Transfer-Encoding, a coding other than
chunked (it hung until --timeout before), an HTTP/1.1 request without Host
or with two, a folded header line, a bare CR in a header or the target, a
space before a colon, NUL (%00) in the path. Look-alikes that are valid
still get 200. The errors libmicrohttpd answers itself (431, 414, 505, a
bad chunk or Content-Length) keep their documented statuses. Raw sockets,
against the normal daemon and, when built, the ASan/UBSan one."""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, on_each_build, read_response  # noqa: E402

BODY = b'{"activation":"relu","x":[1,-1]}'
CL = b"Content-Length: %d\r\n" % len(BODY)
CHUNKED = b"%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n"
POST = b"POST /v1/forward HTTP/1.1\r\nHost: x\r\n"


def refused():
    """(name, raw request): each must get a JSON 400 and a close."""
    return [
        ("nul_in_path", b"POST /v1/forward%00 HTTP/1.1\r\nHost: x\r\n" + CL + b"\r\n" + BODY),
        ("nul_in_query", b"GET /v1/health?a=%00 HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("space_in_target", b"GET /v1/he alth HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("bare_cr_in_target", b"GET /v1/health\rx HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("two_content_lengths", POST + CL + b"Content-Length: 5\r\n\r\n" + BODY),
        ("content_length_and_chunked",
         POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED),
        ("gzip_chunked", POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + CHUNKED),
        ("two_transfer_encodings",
         POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED),
        ("http11_without_host", b"POST /v1/forward HTTP/1.1\r\n" + CL + b"\r\n" + BODY),
        ("two_hosts", POST + b"Host: y\r\n" + CL + b"\r\n" + BODY),
        ("folded_header", POST + b"X-A: one\r\n two\r\n" + CL + b"\r\n" + BODY),
        ("bare_cr_in_header", POST + b"X-A: o\rne\r\n" + CL + b"\r\n" + BODY),
        ("space_before_colon", POST + b"X-A : one\r\n" + CL + b"\r\n" + BODY),
        ("method_not_a_token", b"GE(T /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("v2_two_content_lengths",
         b"POST /v2/models/relu/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
         b"Content-Length: 3\r\n\r\n{}"),
    ]


def accepted():
    """(name, raw request): valid look-alikes, each must get 200."""
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(30))
    return [
        ("same_content_length_twice", POST + CL + CL + b"\r\n" + BODY),
        ("chunked_any_case", POST + b"Transfer-Encoding: Chunked\r\n\r\n" + CHUNKED),
        ("http10_without_host", b"POST /v1/forward HTTP/1.0\r\n" + CL + b"\r\n" + BODY),
        ("whitespace_around_values", POST + b"X-A: \t one \t\r\n" + CL + b"\r\n" + BODY),
        ("obs_text_in_value", POST + b"X-A: caf\xc3\xa9\r\n" + CL + b"\r\n" + BODY),
        ("thirty_headers", POST + many + CL + b"\r\n" + BODY),
        ("percent_encoded_query", b"GET /v1/health?a=%20b%2F HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("empty_header_value", POST + b"X-A:\r\n" + CL + b"\r\n" + BODY),
    ]


def mhd_answered():
    """(name, raw request, status): answered by libmicrohttpd itself."""
    return [
        ("header_too_big_431", b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " +
         b"a" * 70000 + b"\r\n\r\n", 431),
        ("uri_too_long_414", b"GET /v1/health?" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
         414),
        ("http_2_0_505", b"GET /v1/health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("bad_chunk_size_400", POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + BODY +
         b"\r\n0\r\n\r\n", 400),
        ("header_without_colon_400", b"GET /v1/health HTTP/1.1\r\nHost: x\r\nBad\r\n\r\n", 400),
        ("content_length_not_a_number_400", POST + b"Content-Length: 1x\r\n\r\n" + BODY, 400),
        ("content_length_overflow_413", POST + b"Content-Length: 99999999999999999999999\r\n\r\n",
         413),
    ]


def exchange(port, raw, method, wait_close=True):
    """Sends raw on a new connection; (status, headers, body, seconds, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.time()
    try:
        s.sendall(raw)
        st, hdr, data = read_response(s, method)
        seconds = time.time() - t0
        if not wait_close:
            return st, hdr, data, seconds, False
        try:
            s.settimeout(2)
            closed = s.recv(1) == b""
        except OSError:
            closed = True
        return st, hdr, data, seconds, closed
    except OSError as e:
        return repr(e), {}, b"", time.time() - t0, True
    finally:
        s.close()


def run(ck, d, tag):
    for name, raw in refused():
        st, hdr, data, seconds, closed = exchange(d.port, raw, raw.split(b" ")[0].decode())
        try:
            err = json.loads(data)["error"]
        except (ValueError, KeyError, TypeError):
            err = None
        msg = err if isinstance(err, str) else (err or {}).get("message")
        code_ok = isinstance(err, str) or (err or {}).get("code") == "invalid_argument"
        ck.check(tag + "refused_400_" + name,
                 st == 400 and hdr.get("content-type") == "application/json" and code_ok and
                 bool(msg) and hdr.get("connection") == "close" and closed and seconds < 2,
                 (st, hdr, data[:300], "%.2fs" % seconds, "closed" if closed else "open"))
    for name, raw in accepted():
        st, hdr, data, _, _ = exchange(d.port, raw, raw.split(b" ")[0].decode(), False)
        ck.check(tag + "accepted_200_" + name, st == 200, (st, data[:300]))
    for name, raw, status in mhd_answered():
        st, hdr, data, seconds, closed = exchange(d.port, raw, raw.split(b" ")[0].decode())
        ck.check(tag + "libmicrohttpd_" + name,
                 st == status and hdr.get("connection") == "close" and closed and seconds < 2,
                 (st, hdr, data[:200], "%.2fs" % seconds))
    ck.check(tag + "serving_after_broken_requests", d.alive())


def main():
    ck = Checks()
    on_each_build(ck, ["--quiet"], run)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
