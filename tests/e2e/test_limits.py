#!/usr/bin/python3
"""test_limits.py - --max-body and --max-elements fit together: with only
--max-elements given, a backward job of two tensors of exactly that size
passes in its largest encoding (nested JSON rows of one element, each the
longest float32 text) and as base64 and /v2 binary data, one more element
gets the elements' 413 (not the body's); a smaller --max-body given with it
draws a start-up warning that says what fits; the defaults draw none and
--help states the derived default."""
import base64
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Checks, Daemon, daemon_binary  # noqa: E402

N = 50000
LONGEST = "-1.17549435e-38"  # the longest shortest float32 text: 15 characters


def nested(n):
    """[[v],[v],...]: 18 bytes an element, the costliest JSON form."""
    return "[" + ",".join("[" + LONGEST + "]" for _ in range(n)) + "]"


def main():
    ck = Checks()
    d = Daemon("--max-elements", str(N))
    try:
        body = ('{"activation":"leaky_relu","x":%s,"dy":%s}' % (nested(N), nested(N))).encode()
        st, res, _ = d.call("POST", "/v1/backward", raw=body)
        dx = np.asarray(res.get("dx", []), np.float32).ravel() if isinstance(res, dict) else []
        want = np.float32(np.float64(np.float32(0.01)) * np.float64(np.float32(LONGEST)))
        ck.check("json_nested_longest_at_max_elements_200",
                 st == 200 and len(dx) == N and np.all(dx == want),
                 "%s, %d bytes: %s" % (st, len(body), str(res)[:300]))
        x = np.full(N, -1.5, np.float32)
        b64 = base64.b64encode(x.tobytes()).decode()
        st, res, _ = d.call("POST", "/v1/backward", {"activation": "relu", "x_b64": b64,
                                                      "dy_b64": b64})
        ck.check("base64_at_max_elements_200", st == 200, str(res)[:300])
        header = json.dumps({"inputs": [
            {"name": n, "shape": [N], "datatype": "FP32",
             "parameters": {"binary_data_size": 4 * N}} for n in ("x", "dy")]}).encode()
        status, _, data = d.request(
            "POST", "/v2/models/relu_backward/infer", header + x.tobytes() * 2,
            {"Content-Type": "application/octet-stream",
             "Inference-Header-Content-Length": str(len(header))})
        ck.check("v2_binary_at_max_elements_200", status == 200, data[:300])
        body = ('{"activation":"relu","x":%s}' % nested(N + 1)).encode()
        st, res, _ = d.call("POST", "/v1/forward", raw=body)
        msg = res.get("error", {}).get("message", "") if isinstance(res, dict) else ""
        ck.check("one_more_element_413_for_elements", st == 413 and "--max-elements" in msg,
                 "%s %s" % (st, msg))
    finally:
        d.stop()
        ck.check("derived_default_no_warning", "warning" not in d.stderr(), d.stderr()[-500:])

    d = Daemon("--max-body", "4m", "--max-elements", "1000000")
    try:
        err = d.stderr()
        ck.check("contradicting_pair_warns",
                 "warning: --max-body 4194304 holds a backward job (x and dy) of at most 87381 "
                 "elements as JSON, 262144 as base64 and 393216 as /v2 binary data, but "
                 "--max-elements is 1000000" in err and "--max-body 37048576" in err, err[-800:])
        ck.check("contradicting_pair_still_serves", d.alive())
    finally:
        d.stop()

    out = subprocess.run([daemon_binary(), "--help"], capture_output=True, text=True).stdout
    ck.check("help_states_derived_default", "577m" in out and "--max-elements" in out, out[:500])
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
