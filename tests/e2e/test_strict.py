#!/usr/bin/env python3
"""test_strict.py - end-to-end: JSON that readers disagree on is a 400, never
run: a key given twice in any object (cJSON would take the first, Python and
JavaScript the last) and a \\u0000 escape in any string or key (cJSON's copy
stops there), on /v1 (forward, backward, batch, compare) and /v2 infer (JSON
and binary framing); look-alikes (the same key in sibling objects, an escaped
backslash before "u0000") still run. Against the normal daemon and, when
built, the ASan/UBSan one."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, on_each_build  # noqa: E402

FWD, BWD, BATCH, CMP = "/v1/forward", "/v1/backward", "/v1/batch", "/v1/compare"
RELU = "/v2/models/relu/infer"
PRELU = "/v2/models/prelu/infer"
X = '{"name":"x","shape":[2],"datatype":"FP32","data":[-1,2]}'
MANY = ",".join('"k%02d":1' % i for i in range(20))  # over the pairwise limit: sorted


def v1_cases():
    """(name, path, body, word the message must hold) for /v1, all 400."""
    return [
        ("dup_activation", FWD, '{"activation":"relu","activation":"gelu","x":[1]}', '"activation"'),
        ("dup_activation_escaped", FWD, '{"activation":"relu","activ\\u0061tion":"prelu","x":[1]}',
         '"activation"'),
        ("dup_x", FWD, '{"activation":"relu","x":[1],"x":[2]}', '"x"'),
        ("dup_x_b64", FWD, '{"activation":"relu","x_b64":"AACAPw==","x_b64":"AAAAQA=="}', '"x_b64"'),
        ("x_and_x_b64", FWD, '{"activation":"relu","x":[1],"x_b64":"AACAPw=="}', "not both"),
        ("dup_alpha_scalar", FWD, '{"activation":"leaky_relu","alpha":0.25,"alpha":0.5,"x":[-1]}', '"alpha"'),
        ("dup_shape", FWD, '{"activation":"relu","x":[1,2],"shape":[2],"shape":[1,2]}', '"shape"'),
        ("dup_dy_backward", BWD, '{"activation":"relu","x":[1],"dy":[1],"dy":[2]}', '"dy"'),
        ("dup_jobs", BATCH, '{"jobs":[],"jobs":[{"activation":"relu","x":[1]}]}', '"jobs"'),
        ("dup_in_job", BATCH, '{"jobs":[{"op":"forward","activation":"relu","x":[1]},'
                              '{"op":"forward","op":"backward","activation":"relu","x":[1]}]}', '"op"'),
        ("dup_repeats_compare", CMP, '{"activation":"relu","x":[1],"repeats":1,"repeats":2}', '"repeats"'),
        ("dup_in_many_keys", FWD, '{' + MANY + ',"k07":2}', '"k07"'),
        ("nul_in_activation", FWD, '{"activation":"relu\\u0000xyz","x":[-1,1]}', "\\u0000"),
        ("nul_in_key", FWD, '{"activation":"relu","x\\u0000y":[3]}', "\\u0000"),
        ("nul_in_x_b64", FWD, '{"activation":"relu","x_b64":"AACAPw==\\u0000garbage"}', "\\u0000"),
        ("nul_in_array_string", FWD, '{"activation":"relu","x":["NaN\\u0000"]}', "\\u0000"),
        ("nul_in_id", FWD, '{"activation":"relu","x":[1],"id":"a\\u0000b"}', "\\u0000"),
        ("nul_in_batch_job", BATCH, '{"jobs":[{"op":"forward","activation":"relu\\u0000","x":[1]}]}', "\\u0000"),
    ]


def v2_cases():
    """(name, path, JSON header, word the message must hold) for /v2, all 400."""
    return [
        ("dup_inputs", RELU, '{"inputs":[' + X + '],"inputs":[' + X + ']}', '"inputs"'),
        ("dup_data", RELU, '{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[-1,2],"data":[3,4]}]}',
         '"data"'),
        ("dup_name", RELU, '{"inputs":[{"name":"x","name":"dy","shape":[2],"datatype":"FP32","data":[1,2]}]}',
         '"name"'),
        ("dup_shape", RELU, '{"inputs":[{"name":"x","shape":[2],"shape":[1,2],"datatype":"FP32","data":[1,2]}]}',
         '"shape"'),
        ("dup_parameter", PRELU, '{"parameters":{"alpha":0.25,"alpha":0.5},"inputs":[' + X + ']}', '"alpha"'),
        ("dup_output_parameter", RELU, '{"inputs":[' + X + '],"outputs":[{"name":"y","parameters":'
                                       '{"binary_data":true,"binary_data":false}}]}', '"binary_data"'),
        ("dup_id", RELU, '{"id":"a","id":"b","inputs":[' + X + ']}', '"id"'),
        ("nul_in_name", RELU, '{"inputs":[{"name":"x\\u0000","shape":[2],"datatype":"FP32","data":[-1,2]}]}',
         "\\u0000"),
        ("nul_in_id", RELU, '{"id":"r\\u0000","inputs":[' + X + ']}', "\\u0000"),
        ("nul_in_parameter_key", PRELU, '{"parameters":{"alpha\\u0000x":0.5},"inputs":[' + X + ']}', "\\u0000"),
    ]


def binary_body(header):
    """The header with x as binary data (2 float32 after it)."""
    head = header.encode()
    return head + struct.pack("<2f", -1.0, 2.0), {"Inference-Header-Content-Length": str(len(head))}


def message_of(parsed):
    if not isinstance(parsed, dict):
        return ""
    err = parsed.get("error")
    return err.get("message", "") if isinstance(err, dict) else err if isinstance(err, str) else ""


def rejected(ck, name, d, path, body, word, headers=None):
    st, parsed, raw = d.call("POST", path, raw=body, headers=headers)
    msg = message_of(parsed)
    ck.check(name, st == 400 and word in msg, "status %s, want 400 naming %s: %r" % (st, word, raw[:300]))


def accepted(ck, name, d, path, body, want):
    st, parsed, raw = d.call("POST", path, raw=body)
    ck.check(name, st == 200 and want(parsed), "status %s: %r" % (st, raw[:300]))


def run(ck, d, tag):
    for name, path, body, word in v1_cases():
        rejected(ck, tag + "v1_" + name + "_400", d, path, body, word)
    for name, path, header, word in v2_cases():
        rejected(ck, tag + "v2_" + name + "_400", d, path, header, word)
    # Binary framing: the JSON header is checked the same way.
    bx = '{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}'
    for name, header, word in (
            ("dup_binary_data_size", bx.replace('"binary_data_size":8', '"binary_data_size":8,"binary_data_size":4'),
             '"binary_data_size"'),
            ("nul_in_datatype", bx.replace('"FP32"', '"FP32\\u0000"'), "\\u0000")):
        body, hdrs = binary_body('{"inputs":[' + header + ']}')
        rejected(ck, tag + "v2_binary_" + name + "_400", d, RELU, body, word, hdrs)

    # Look-alikes that are no ambiguity still run.
    accepted(ck, tag + "v1_escaped_backslash_u0000_ok", d, FWD,
             '{"activation":"relu","x":[-1,1],"id":"a\\\\u0000"}',
             lambda p: p.get("y") == [0, 1] and p.get("id") == "a\\u0000")
    accepted(ck, tag + "v1_same_key_sibling_jobs_ok", d, BATCH,
             '{"jobs":[{"op":"forward","activation":"relu","x":[-1]},{"op":"forward","activation":"relu","x":[2]}]}',
             lambda p: p.get("results") == [{"y": [0]}, {"y": [2]}])
    st, parsed, raw = d.call("POST", FWD, raw='{' + MANY + '}')
    ck.check(tag + "v1_many_distinct_keys_not_duplicate", st == 400 and "duplicate" not in message_of(parsed),
             (st, raw[:300]))
    accepted(ck, tag + "v2_escaped_backslash_u0000_ok", d, RELU,
             '{"id":"r\\\\u0000","inputs":[' + X + ']}',
             lambda p: p.get("id") == "r\\u0000" and p["outputs"][0]["data"] == [0, 2])
    accepted(ck, tag + "v2_same_key_sibling_objects_ok", d, PRELU,
             '{"inputs":[' + X + ',{"name":"alpha","shape":[1],"datatype":"FP32","data":[0.5]}]}',
             lambda p: p["outputs"][0]["data"] == [-0.5, 2])
    ck.check(tag + "still_serving", d.alive())


def main():
    ck = Checks()
    on_each_build(ck, ("--threads", "4"), run)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
