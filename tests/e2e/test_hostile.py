#!/usr/bin/env python3
"""test_hostile.py - end-to-end: hostile and wrong input always gets a JSON
4xx with the documented code, and the daemon keeps serving: every error
status, malformed JSON, wrong types, ragged and 100000-deep nesting, bad
base64, shape overflow, bodies and tensors over the limits, stalled clients.
Runs against $LEAKYCL_BUILD/bin/leakycld and, when it exists, the sanitized
build-san/bin/leakycld (which must then exit 0 with no sanitizer report)."""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, b64_floats, on_each_build  # noqa: E402

MAX_BODY = 1 << 20
MAX_ELEMENTS = 1000


def cases():
    """(name, method, path, raw body, status, code)."""
    deep = "[" * 100000 + "]" * 100000
    deep_obj = '{"a":' * 100000 + "1" + "}" * 100000
    return [
        ("unknown_path_404", "GET", "/v1/nope", None, 404, "not_found"),
        ("root_path_404", "GET", "/", None, 404, "not_found"),
        ("get_forward_405", "GET", "/v1/forward", None, 405, "method_not_allowed"),
        ("post_health_405", "POST", "/v1/health", "{}", 405, "method_not_allowed"),
        ("delete_batch_405", "DELETE", "/v1/batch", None, 405, "method_not_allowed"),
        ("empty_body_400", "POST", "/v1/forward", "", 400, "invalid_argument"),
        ("malformed_json_400", "POST", "/v1/forward", '{"activation":"relu","x":[1,2]', 400, "invalid_argument"),
        ("trailing_garbage_400", "POST", "/v1/forward", '{"activation":"relu","x":[1]} x', 400, "invalid_argument"),
        ("not_an_object_400", "POST", "/v1/forward", '[1,2,3]', 400, "invalid_argument"),
        ("nul_byte_400", "POST", "/v1/forward", '{"activation":"relu","x":[1]}\x00', 400, "invalid_argument"),
        ("invalid_utf8_400", "POST", "/v1/forward", b'{"activation":"re\xff\xfelu","x":[1]}', 400, "invalid_argument"),
        ("missing_activation_400", "POST", "/v1/forward", '{"x":[1]}', 400, "invalid_argument"),
        ("unknown_activation_400", "POST", "/v1/forward", '{"activation":"gelu","x":[1]}', 400, "invalid_argument"),
        ("activation_number_400", "POST", "/v1/forward", '{"activation":3,"x":[1]}', 400, "invalid_argument"),
        ("missing_x_400", "POST", "/v1/forward", '{"activation":"relu"}', 400, "invalid_argument"),
        ("x_string_400", "POST", "/v1/forward", '{"activation":"relu","x":"1,2"}', 400, "invalid_argument"),
        ("x_object_400", "POST", "/v1/forward", '{"activation":"relu","x":{}}', 400, "invalid_argument"),
        ("x_number_400", "POST", "/v1/forward", '{"activation":"relu","x":1}', 400, "invalid_argument"),
        ("x_element_string_400", "POST", "/v1/forward", '{"activation":"relu","x":[1,"a"]}', 400, "invalid_argument"),
        ("x_element_null_400", "POST", "/v1/forward", '{"activation":"relu","x":[1,null]}', 400, "invalid_argument"),
        ("x_element_bool_400", "POST", "/v1/forward", '{"activation":"relu","x":[true]}', 400, "invalid_argument"),
        ("x_bad_number_400", "POST", "/v1/forward", '{"activation":"relu","x":[01]}', 400, "invalid_argument"),
        ("x_nan_literal_400", "POST", "/v1/forward", '{"activation":"relu","x":[NaN]}', 400, "invalid_argument"),
        ("ragged_400", "POST", "/v1/forward", '{"activation":"relu","x":[[1,2],[3]]}', 400, "invalid_argument"),
        ("ragged_depth_400", "POST", "/v1/forward", '{"activation":"relu","x":[[1,2],3]}', 400, "invalid_argument"),
        ("deep_100000_x_400", "POST", "/v1/forward", '{"activation":"relu","x":' + deep + "}", 400, "invalid_argument"),
        ("deep_100000_envelope_400", "POST", "/v1/forward", deep_obj, 400, "invalid_argument"),
        ("deep_100000_array_body_400", "POST", "/v1/batch", deep, 400, "invalid_argument"),
        ("x_and_x_b64_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"x_b64":"AACAPw=="}', 400, "invalid_argument"),
        ("bad_base64_char_400", "POST", "/v1/forward", '{"activation":"relu","x_b64":"AA*APw=="}', 400, "invalid_argument"),
        ("bad_base64_padding_400", "POST", "/v1/forward", '{"activation":"relu","x_b64":"AACAPw="}', 400, "invalid_argument"),
        ("base64_not_float32_400", "POST", "/v1/forward", '{"activation":"relu","x_b64":"AACA"}', 400, "invalid_argument"),
        ("base64_number_400", "POST", "/v1/forward", '{"activation":"relu","x_b64":5}', 400, "invalid_argument"),
        ("dtype_float16_odd_bytes_400", "POST", "/v1/forward", '{"activation":"relu","x_b64":"AA==","dtype":"float16"}', 400, "invalid_argument"),
        ("dtype_float64_400", "POST", "/v1/forward", '{"activation":"relu","x_b64":"AACAPw==","dtype":"float64"}', 400, "invalid_argument"),
        ("dtype_unknown_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"dtype":"int8"}', 400, "invalid_argument"),
        ("shape_overflow_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"shape":[4294967296,4294967296,4294967296]}', 400, "invalid_argument"),
        ("shape_huge_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"shape":[1e300]}', 400, "invalid_argument"),
        ("shape_negative_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"shape":[-1]}', 400, "invalid_argument"),
        ("shape_fraction_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"shape":[1.5]}', 400, "invalid_argument"),
        ("shape_string_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"shape":["1"]}', 400, "invalid_argument"),
        ("shape_mismatch_400", "POST", "/v1/forward", '{"activation":"relu","x":[1,2,3],"shape":[2,2]}', 400, "invalid_argument"),
        ("shape_rank_17_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"shape":[' + ",".join(["1"] * 17) + "]}", 400, "invalid_argument"),
        ("channel_axis_out_of_range_400", "POST", "/v1/forward", '{"activation":"prelu","x":[1,2],"shape":[1,2],"channel_axis":2}', 400, "invalid_argument"),
        ("channel_axis_huge_400", "POST", "/v1/forward", '{"activation":"prelu","x":[1],"channel_axis":1e300}', 400, "invalid_argument"),
        ("channel_axis_fraction_400", "POST", "/v1/forward", '{"activation":"prelu","x":[1],"channel_axis":0.5}', 400, "invalid_argument"),
        ("alpha_string_400", "POST", "/v1/forward", '{"activation":"leaky_relu","x":[1],"alpha":"0.1"}', 400, "invalid_argument"),
        ("alpha_nan_400", "POST", "/v1/forward", '{"activation":"prelu","x":[1],"alpha":["NaN"]}', 400, "invalid_argument"),
        ("alpha_overflow_400", "POST", "/v1/forward", '{"activation":"prelu","x":[1],"alpha":1e300}', 400, "invalid_argument"),
        ("alpha_wrong_count_400", "POST", "/v1/forward", '{"activation":"prelu","x":[[1,2,3]],"alpha":[1,2]}', 400, "invalid_argument"),
        ("alpha_for_relu_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"alpha":0.1}', 400, "invalid_argument"),
        ("beta_for_prelu_400", "POST", "/v1/forward", '{"activation":"prelu","x":[1],"beta":0.1}', 400, "invalid_argument"),
        ("unknown_field_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"alpah":1}', 400, "invalid_argument"),
        ("dy_on_forward_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"dy":[1]}', 400, "invalid_argument"),
        ("backward_missing_dy_400", "POST", "/v1/backward", '{"activation":"relu","x":[1]}', 400, "invalid_argument"),
        ("backward_dy_length_400", "POST", "/v1/backward", '{"activation":"relu","x":[1,2],"dy":[1]}', 400, "invalid_argument"),
        ("backward_from_bad_400", "POST", "/v1/backward", '{"activation":"relu","x":[1],"dy":[1],"from":"z"}', 400, "invalid_argument"),
        ("backward_from_y_phased_400", "POST", "/v1/backward", '{"activation":"phased_relu","from":"y","y":[1],"dy":[1]}', 400, "invalid_argument"),
        ("op_mismatch_400", "POST", "/v1/forward", '{"op":"backward","activation":"relu","x":[1]}', 400, "invalid_argument"),
        ("batch_jobs_missing_400", "POST", "/v1/batch", '{}', 400, "invalid_argument"),
        ("batch_jobs_object_400", "POST", "/v1/batch", '{"jobs":{}}', 400, "invalid_argument"),
        ("device_number_400", "POST", "/v1/forward", '{"activation":"relu","x":[1],"device":0}', 400, "invalid_argument"),
        ("too_many_elements_413", "POST", "/v1/forward", json.dumps({"activation": "relu", "x": [1.0] * (MAX_ELEMENTS + 1)}), 413, "payload_too_large"),
        ("too_many_elements_b64_413", "POST", "/v1/forward", json.dumps({"activation": "relu", "x_b64": b64_floats([1.0] * (MAX_ELEMENTS + 1))}), 413, "payload_too_large"),
        ("body_over_limit_413", "POST", "/v1/forward", '{"activation":"relu","x":[' + ",".join(["1"] * (MAX_BODY // 2 + 10)) + "]}", 413, "payload_too_large"),
        ("body_over_limit_get_path_413", "POST", "/v1/batch", " " * (MAX_BODY + 1), 413, "payload_too_large"),
    ]


def check_error(ck, name, st, body, raw, status, code):
    ok = (st == status and isinstance(body, dict) and isinstance(body.get("error"), dict) and
          body["error"].get("code") == code and isinstance(body["error"].get("message"), str) and
          body["error"]["message"] != "")
    ck.check(name, ok, "status %s, want %s %s: %r" % (st, status, code, raw[:300]))


def raw_exchange(port, data, timeout=10):
    """Sends raw bytes, returns what comes back until the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out
    except OSError as e:
        return ("error: %s" % e).encode()
    finally:
        s.close()


def run(ck, d, tag):
    for name, method, path, body, status, code in cases():
        st, parsed, raw = d.call(method, path, raw=body) if body is not None else d.call(method, path)
        check_error(ck, tag + name, st, parsed, raw, status, code)
    st, hdr, _ = d.request("GET", "/v1/forward")
    ck.check(tag + "405_allow_header", hdr.get("allow") == "POST", hdr)
    # A chunked body over the limit, no Content-Length: 413, never parsed.
    chunk = b"a" * 400000
    req = (b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
           (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n")
    out = raw_exchange(d.port, req)
    ck.check(tag + "chunked_over_limit_413", out.startswith(b"HTTP/1.1 413") and b"payload_too_large" in out,
             out[:300])
    # Expect: 100-continue with a declared length over the limit: 413 before the body.
    out = raw_exchange(d.port, b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n"
                               b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
    ck.check(tag + "expect_continue_over_limit_413", out.startswith(b"HTTP/1.1 413"), out[:300])
    # Garbage that is not HTTP at all.
    raw_exchange(d.port, b"\x00\x01\x02 garbage\r\n\r\n")
    # A batch with one bad job among good ones still answers 200.
    st, parsed, raw = d.call("POST", "/v1/batch", raw='{"jobs":[{"op":"forward","activation":"relu","x":[1]},'
                                                      '{"op":"forward","activation":"relu","x":[[1],[2,3]]},'
                                                      '{"op":"forward","activation":"relu","x":[-1]}]}')
    # The ragged array fails its own job only.
    res = parsed.get("results", []) if st == 200 and isinstance(parsed, dict) else []
    ck.check(tag + "batch_ragged_job_isolated",
             len(res) == 3 and res[0] == {"y": [1]} and res[2] == {"y": [0]} and
             res[1].get("error", {}).get("code") == "invalid_argument", raw)
    st, parsed, raw = d.call("POST", "/v1/batch", raw='{"jobs":[{"op":"forward","activation":"relu","x":[1]},'
                                                      '{"op":"sideways","activation":"relu","x":[1]},'
                                                      '{"op":"forward","activation":"relu","x_b64":"!!!!"},'
                                                      '{"op":"forward","activation":"relu","x":[-1]}, 5]}')
    res = parsed.get("results") if isinstance(parsed, dict) else None
    ck.check(tag + "batch_bad_jobs_isolated", st == 200 and res and len(res) == 5 and res[0] == {"y": [1]} and
             res[1]["error"]["code"] == "invalid_argument" and res[2]["error"]["code"] == "invalid_argument" and
             res[3] == {"y": [0]} and "error" in res[4], raw)
    # A stalled client (headers never finished) is dropped after --timeout; others are served meanwhile.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"POST /v1/forward HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"activation\"")
    ck.check(tag + "served_while_a_client_stalls", d.alive())
    t0 = time.time()
    try:
        data = s.recv(1000)
    except OSError:
        data = b""
    s.close()
    ck.check(tag + "stalled_client_dropped_after_timeout", time.time() - t0 < 8,
             "waited %.1fs, got %r" % (time.time() - t0, data[:100]))
    ck.check(tag + "still_serving_after_hostile_input", d.alive())


def main():
    ck = Checks()
    on_each_build(ck, ("--max-body", str(MAX_BODY), "--max-elements", str(MAX_ELEMENTS), "--timeout", "2",
                       "--threads", "2"), run)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
