"""remote.py - leakycl on a daemon (leakycld) over HTTP. Remote has
Context's methods with the same arguments and answers (arrays of the input's
kind, dtype and shape, 0-d included; Backward; Reduce; leakycl.Error), so
switching between in process and remote is one line.

Wire choices:
- One kept-alive HTTP/1.1 connection per Remote (http.client), one request
  at a time under a lock. When the daemon has closed it while idle
  (--timeout), the request goes again once on a new connection: jobs are
  pure functions, so a repeat is harmless.
- Arguments are checked here as the library checks them (activation, dtype,
  alpha and beta finite, ...) and fail before anything is sent.
- protocol="v1": /v1 JSON. A tensor travels as base64 of the array's own
  bytes ("x_b64", "dy_b64", or "y_b64" for source="y", with "dtype") and
  comes back so. The base64 strings are cut out of the answer before JSON
  parsing (the parser never scans megabytes) and decoded into the output
  array; pybase64, when installed, encodes and decodes several times faster.
  Float32 tensors under binary_threshold elements whose values are all
  finite go as JSON numbers: exact both ways (a float32 prints exactly as a
  double; the daemon prints the shortest text that reads back), and finite
  inputs give no NaN, whose payload text would lose.
- protocol="v2": forward and backward as the Open Inference Protocol with
  binary tensor data: raw bytes after a JSON header, read back straight into
  the output array (no base64, no copy). Its models have no diagnostics
  outputs, no source="y" and no device choice, so a backward needing one
  (prelu, phased_relu, source="y") and any call with device= go to /v1.
- conventions: /v1's job field "conventions", /v2's request parameter of
  that name; the default "pytorch" is not sent, so that a daemon older than
  the profiles (which refuses unknown fields) still serves default calls.
- Errors: /v1's {"error": {"code", "message"}} becomes Error(code
  upper-cased, message, http_status); /v2's {"error": "message"} gets its
  code from the status; no answer at all is Error("UNREACHABLE").
"""
import base64
import binascii
import ctypes
import http.client
import json
import sys
import threading
import urllib.parse

import numpy as np

from . import _arrays
from ._types import Backward, Error, Reduce, as_job, check_activation, check_conventions, check_source

try:  # SIMD base64 (pip install pybase64): 3 to 10 times binascii's speed
    from pybase64 import b64decode as _b64decode, b64encode as _b64encode
except ImportError:
    _b64decode, _b64encode = binascii.a2b_base64, base64.b64encode

_V2_DATATYPES = ("FP32", "FP16", "BF16")  # by leakycl dtype code
_V2_CODES = {"FP32": _arrays.FLOAT32, "FP16": _arrays.FLOAT16, "BF16": _arrays.BF16}
_STATUS_CODES = {400: "INVALID_ARGUMENT", 401: "UNAUTHORIZED", 404: "NOT_FOUND", 413: "PAYLOAD_TOO_LARGE",
                 503: "UNAVAILABLE"}
_B64_KEY = b'_b64":"'
_MAX_RANK = 16


def _raw(t):
    """A Tensor's memory as a flat uint8 array (a view: writing it writes the tensor)."""
    if t.kind == "numpy":
        return t.keep.reshape(-1).view(np.uint8)
    n = t.size * (4 if t.dtype == _arrays.FLOAT32 else 2)
    return np.ctypeslib.as_array((ctypes.c_uint8 * n).from_address(t.ptr)) if n else np.empty(0, np.uint8)


def _floats(values):
    """JSON numbers (or "NaN", "Infinity", "-Infinity") as float32."""
    return np.array([float(v) for v in values], dtype=np.float32)


def _grads(answer):
    stats = answer["stats"]
    return Reduce(_floats(answer["dalpha"]), _floats(stats["neg_fraction"]), _floats(stats["mean_abs_grad"]))


def _parse_answer(data):
    """(the JSON answer, blobs): every "*_b64" string is cut out before parsing
    and becomes an index into blobs (memoryviews of the base64 text). Base64
    holds no quote and a quote inside a JSON string is escaped, so the pattern
    only matches a real key. Integers parse as floats: "-0" keeps its sign."""
    parts, blobs, pos, view = [], [], 0, memoryview(data)
    while True:
        k = data.find(_B64_KEY, pos)
        end = data.find(b'"', k + len(_B64_KEY)) if k >= 0 else -1
        if end < 0:
            break
        parts += [data[pos:k + len(_B64_KEY) - 1], b"%d" % len(blobs)]
        blobs.append(view[k + len(_B64_KEY):end])
        pos = end + 1
    parts.append(data[pos:])
    return json.loads(b"".join(parts), parse_int=float), blobs


def _read_into(resp, buf):
    view, pos = memoryview(buf).cast("B"), 0
    while pos < len(view):
        n = resp.readinto(view[pos:])
        if not n:
            raise http.client.IncompleteRead(b"", len(view) - pos)
        pos += n


def _http_error(status, data):
    """The Error of an HTTP error answer: /v1's {"error": {"code", "message"}},
    or /v2's {"error": "message"} with the code its status means."""
    try:
        err = json.loads(data).get("error")
    except (ValueError, AttributeError):
        err = None
    if isinstance(err, dict) and isinstance(err.get("code"), str):
        return Error(err["code"].upper(), str(err.get("message", "")), http_status=status)
    message = err if isinstance(err, str) else data.decode(errors="replace")[:500]
    return Error(_STATUS_CODES.get(status, "HTTP_%d" % status), message, http_status=status)


class _Job:
    """One forward or backward: its arguments checked as the library checks
    them, its output allocated (or the caller's out= checked)."""

    def __init__(self, op, activation, x, dy, alpha, beta, channel_axis, source, out, device, conventions):
        if op not in ("forward", "backward"):
            raise Error("INVALID_ARGUMENT", 'op must be "forward" or "backward", not %r' % (op,))
        self.op, self.source, self.device = op, check_source(source), device
        self.conventions = check_conventions(conventions)
        self.xt = xt = _arrays.as_input(x, "x")
        self.dyt = dyt = _arrays.as_input(dy, "dy") if op == "backward" else None
        if dyt and (tuple(xt.shape) != tuple(dyt.shape) or xt.dtype != dyt.dtype):
            raise Error("INVALID_ARGUMENT", "x is %s%s but dy is %s%s: they must match" % (
                _arrays.DTYPE_NAMES[xt.dtype], list(xt.shape), _arrays.DTYPE_NAMES[dyt.dtype], list(dyt.shape)))
        self.activation = check_activation(activation)
        self.alpha = _arrays.as_alpha(alpha)
        if self.alpha is not None and self.alpha.size == 0:
            self.alpha = None  # no value: the default, as in process
        if self.alpha is not None:
            if activation == "relu":
                raise Error("INVALID_ARGUMENT", "relu takes no alpha (alpha_count %d)" % self.alpha.size)
            bad = np.flatnonzero(~np.isfinite(self.alpha))
            if bad.size:
                raise Error("INVALID_ARGUMENT", "alpha[%d] is not finite" % bad[0])
        self.beta = _arrays.as_beta(beta)
        if self.beta is not None and activation != "phased_relu":
            raise Error("INVALID_ARGUMENT", "%s takes no beta (phased_relu does)" % activation)
        if self.beta is not None and not np.isfinite(self.beta):
            raise Error("INVALID_ARGUMENT", "beta is not finite")
        if len(xt.shape) > _MAX_RANK:
            raise Error("INVALID_ARGUMENT", "rank %d is over the maximum %d" % (len(xt.shape), _MAX_RANK))
        if channel_axis is not None and (not isinstance(channel_axis, (int, np.integer))
                                         or isinstance(channel_axis, bool)):
            raise Error("INVALID_ARGUMENT", "channel_axis must be an integer, not %r" % (channel_axis,))
        self.channel_axis = None if channel_axis is None else int(channel_axis)
        self.has_grads = activation in ("prelu", "phased_relu")
        self.out, self.outt = _arrays.new_output(xt) if out is None else _arrays.as_output(out, xt)

    def _params(self, fields, shared_alpha_only):
        """Adds alpha, beta, channel_axis and conventions to fields; returns whether alpha is
        per-channel (left out when shared_alpha_only: /v2 sends it as a tensor)."""
        per_channel = self.alpha is not None and self.alpha.size > 1
        if self.alpha is not None and not (per_channel and shared_alpha_only):
            # float32 -> double is exact; the daemon rounds it back to the same float32
            fields["alpha"] = self.alpha.tolist() if per_channel else float(self.alpha[0])
        if self.beta is not None:
            fields["beta"] = self.beta
        if self.channel_axis is not None:
            fields["channel_axis"] = self.channel_axis
        if self.conventions != "pytorch":  # the default goes unsaid: older daemons know no such field
            fields["conventions"] = self.conventions
        return per_channel

    def tensors(self):
        return [(self.source, self.xt)] + ([("dy", self.dyt)] if self.dyt else [])

    def v1_pieces(self, threshold, with_op):
        """The job's JSON object as a list of byte strings (the base64 is not copied again)."""
        fields = {"op": self.op, "activation": self.activation} if with_op else {"activation": self.activation}
        self._params(fields, False)
        if len(self.xt.shape) != 1:
            fields["shape"] = list(self.xt.shape)
        if self.source == "y":
            fields["from"] = "y"
        if self.device is not None:
            fields["device"] = str(self.device)
        tensors = [(name, _raw(t)) for name, t in self.tensors()]
        if self.xt.dtype == _arrays.FLOAT32 and self.xt.size < threshold and \
                all(np.isfinite(r.view(np.float32)).all() for _, r in tensors):
            fields.update((name, r.view(np.float32).tolist()) for name, r in tensors)
            return [json.dumps(fields).encode()]
        fields["dtype"] = _arrays.DTYPE_NAMES[self.xt.dtype]
        pieces = [json.dumps(fields)[:-1].encode()]  # left open: the base64 fields follow
        for name, r in tensors:
            pieces += [b',"%s_b64":"' % name.encode(), _b64encode(r), b'"']
        return pieces + [b"}"]

    def v2_call(self):
        """_infer's arguments for this job on /v2."""
        params = {}
        extra = [("alpha", _arrays.as_input(self.alpha, "alpha"))] if self._params(params, True) else []
        model = self.activation + ("_backward" if self.op == "backward" else "")
        return model, self.tensors() + extra, params, {"y" if self.op == "forward" else "dx": self.outt}

    def result(self, answer, blobs):
        """Writes the answer's y or dx (base64 or JSON numbers) into the output; the call's result."""
        name = "y" if self.op == "forward" else "dx"
        if name + "_b64" in answer:
            src = np.frombuffer(_b64decode(blobs[int(answer[name + "_b64"])]), np.uint8)
        else:
            src = _floats(answer[name]).view(np.uint8)
        dst = _raw(self.outt)
        if src.size != dst.size:
            raise Error("INTERNAL", "the answer's %s has %d bytes, not %d" % (name, src.size, dst.size))
        dst[...] = src
        if self.op == "forward":
            return self.out
        return Backward(self.out, *_grads(answer)) if "dalpha" in answer else Backward(self.out, None, None, None)


class Remote:
    """A leakycld at url ("http://host:port[/prefix]"), with Context's methods.
    token: sent as Authorization: Bearer. timeout: seconds per socket
    operation. binary_threshold: float32 tensors under this many elements go
    as JSON numbers on /v1. protocol: "v2" (the default: the Open Inference
    Protocol with binary tensors wherever it covers the call, /v1 for the
    rest; about 5x faster than base64 at 1 Mi elements) or "v1" (JSON and
    base64 tensors for everything). Thread-safe (one request at
    a time); close() or `with` closes the connection. connections_opened
    counts the TCP connections made or tried (keep-alive: 1 for many calls)."""

    def __init__(self, url="http://127.0.0.1:8080", token=None, timeout=60.0, binary_threshold=1024,
                 protocol="v2"):
        if protocol not in ("v1", "v2"):
            raise Error("INVALID_ARGUMENT", 'protocol must be "v1" or "v2", not %r' % (protocol,))
        if sys.byteorder != "little":
            raise Error("UNSUPPORTED", "the wire is little-endian; this host is not")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Error("INVALID_ARGUMENT", "url must be http://host[:port][/prefix], not %r" % (url,))
        self.url, self.protocol, self.timeout, self.binary_threshold = url, protocol, timeout, binary_threshold
        self.connections_opened = 0
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._headers = {"Authorization": "Bearer " + token} if token else {}
        self._lock = threading.Lock()
        self._conn = None
        self._closed = False

    def close(self):
        with self._lock:
            self._closed = True
            self._drop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "leakycl.Remote(%r, protocol=%r)" % (self.url, self.protocol)

    # ---- transport ----
    def _drop(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _exchange(self, method, path, pieces=None, headers=None, read=None):
        """Sends a request (body: a list of byte strings) and returns read(response),
        or the answer's bytes; an HTTP error status raises its Error."""
        hdrs = dict(self._headers, **(headers or {}))
        if pieces is not None:
            hdrs["Content-Length"] = str(sum(len(p) for p in pieces))
        body = pieces[0] if pieces is not None and len(pieces) == 1 else pieces  # bytes: one send with the head
        with self._lock:
            if self._closed:
                raise Error("INVALID_ARGUMENT", "the client is closed")
            for attempt in (1, 2):
                if self._conn is None:
                    cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                    self._conn = cls(self._host, self._port, timeout=self.timeout)
                reused = self._conn.sock is not None  # http.client (re)connects when it has none
                self.connections_opened += not reused
                try:
                    self._conn.request(method, self._prefix + path, body=body, headers=hdrs)
                    resp = self._conn.getresponse()
                    break
                except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as e:
                    self._drop()  # RemoteDisconnected too: an idle connection the daemon closed
                    if not reused or attempt == 2:
                        raise Error("UNREACHABLE", "%s: %s" % (self.url, e)) from None
                except (OSError, http.client.HTTPException) as e:
                    self._drop()
                    raise Error("UNREACHABLE", "%s: %s" % (self.url, e)) from None
            try:
                if resp.status >= 400:
                    raise _http_error(resp.status, resp.read())
                result = read(resp) if read else resp.read()
                resp.read()  # whatever read() left: the connection then carries the next request
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                raise Error("UNREACHABLE", "%s: %s" % (self.url, e)) from None
            return result  # an answer saying "Connection: close" closed it (http.client)

    def _get_json(self, path):
        return json.loads(self._exchange("GET", path))

    def _post_v1(self, path, jobs, batch=False):
        pieces = []
        for k, job in enumerate(jobs):
            pieces += ([b","] if k else []) + job.v1_pieces(self.binary_threshold, batch)
        if batch:
            pieces = [b'{"jobs":['] + pieces + [b"]}"]
        return _parse_answer(self._exchange("POST", path, pieces, {"Content-Type": "application/json"}))

    def _infer(self, model, inputs, parameters=None, dest=None):
        """POST /v2/models/{model}/infer with binary inputs [(name, Tensor)];
        every output comes back binary and is read into dest[name] (a Tensor)
        when given, else into a new NumPy array. Returns {name: array}."""
        head = json.dumps({
            "inputs": [{"name": name, "shape": list(t.shape), "datatype": _V2_DATATYPES[t.dtype],
                        "parameters": {"binary_data_size": int(_raw(t).size)}} for name, t in inputs],
            "parameters": dict(parameters or {}, binary_data_output=True)}).encode()
        pieces = [head] + [memoryview(_raw(t)) for _, t in inputs if t.size]
        dest = dest or {}

        def read(resp):
            length = resp.getheader("Inference-Header-Content-Length")
            header = json.loads(resp.read(int(length)) if length else resp.read())
            outputs = {}
            for o in header["outputs"]:
                name, code = o["name"], _V2_CODES[o["datatype"]]
                target = dest.get(name)
                if target is None:
                    arr = np.empty(tuple(o["shape"]), _arrays.numpy_dtype(code))
                    target = _arrays.Tensor(0, code, arr.shape, "numpy", arr, arr)
                buf = _raw(target)
                if o["parameters"]["binary_data_size"] != buf.size:
                    raise Error("INTERNAL", "output %s has %s bytes, not %d" % (
                        name, o["parameters"]["binary_data_size"], buf.size))
                _read_into(resp, buf)
                outputs[name] = target.like
            return outputs

        return self._exchange("POST", "/v2/models/%s/infer" % urllib.parse.quote(model, safe=""), pieces,
                              {"Content-Type": "application/octet-stream",
                               "Inference-Header-Content-Length": str(len(head))}, read)

    # ---- operations ----
    def forward(self, activation, x, *, alpha=None, beta=None, channel_axis=None, out=None, device=None,
                conventions="pytorch"):
        """y = f(x), an array of x's kind, dtype and shape (or out); device: one of the daemon's (a SPEC);
        conventions: "pytorch" (the default), "ieee" or "jax", as Context.forward."""
        job = _Job("forward", activation, x, None, alpha, beta, channel_axis, "x", out, device, conventions)
        if self.protocol == "v2" and device is None:
            self._infer(*job.v2_call())
            return job.out
        return job.result(*self._post_v1("/v1/forward", [job]))

    def backward(self, activation, x, dy, *, alpha=None, beta=None, channel_axis=None, source="x", out=None,
                 device=None, conventions="pytorch"):
        """Backward(dx, dalpha, neg_fraction, mean_abs_grad), as Context.backward (conventions included)."""
        job = _Job("backward", activation, x, dy, alpha, beta, channel_axis, source, out, device, conventions)
        if self.protocol == "v2" and device is None and source == "x" and not job.has_grads:
            self._infer(*job.v2_call())
            return Backward(job.out, None, None, None)
        return job.result(*self._post_v1("/v1/backward", [job]))

    def reduce(self, activation, x, dy, *, alpha=None, beta=None, channel_axis=None, device=None,
               conventions="pytorch"):
        """Reduce(dalpha, neg_fraction, mean_abs_grad) (prelu, phased_relu): a /v1
        backward whose dx is dropped (the daemon has no reduce of its own)."""
        job = _Job("backward", activation, x, dy, alpha, beta, channel_axis, "x", None, device, conventions)
        if not job.has_grads:
            raise Error("UNSUPPORTED", "%s has no parameter gradient (prelu and phased_relu do)" % activation)
        return _grads(self._post_v1("/v1/backward", [job])[0])

    def run_jobs(self, jobs, return_errors=False):
        """Many jobs (leakycl.Job or dicts, each with its own conventions) in
        one POST /v1/batch; results in order (forward: the array; backward: a Backward). A bad job does not
        stop the others: with return_errors its place holds its leakycl.Error
        (job_index set), else the first one is raised after all ran."""
        results = []
        for i, j in enumerate([as_job(j) for j in jobs]):
            try:
                results.append(_Job(j.op, j.activation, j.x, j.dy, j.alpha, j.beta, j.channel_axis, j.source,
                                    None, None, j.conventions))
            except Error as e:
                e.job_index = i
                results.append(e)
        wire = [r for r in results if isinstance(r, _Job)]
        answer, blobs = self._post_v1("/v1/batch", wire, batch=True) if wire else ({"results": []}, [])
        answers = iter(answer["results"])
        for i, r in enumerate(results):
            if isinstance(r, _Job):
                a = next(answers)
                err = a.get("error")
                results[i] = Error(err["code"].upper(), err["message"], job_index=i) if err else r.result(a, blobs)
        if not return_errors:
            for r in results:
                if isinstance(r, Error):
                    raise r
        return results

    # ---- the daemon ----
    def health(self):
        """{"status": "ok"} (GET /v1/health)."""
        return self._get_json("/v1/health")

    def devices(self):
        """The daemon's devices, as dicts (index, in_use, spec, type, name, ...)."""
        return self._get_json("/v1/devices")["devices"]

    def activations(self):
        """GET /v1/activations: each activation's formula, parameters and defaults."""
        return self._get_json("/v1/activations")

    def metrics(self):
        """The Prometheus text of GET /metrics."""
        return self._exchange("GET", "/metrics").decode(errors="replace")

    # ---- the Open Inference Protocol ----
    def infer_v2(self, model, inputs, parameters=None):
        """POST /v2/models/{model}/infer: inputs {name: array} (float32, float16,
        bfloat16: sent as binary data), parameters the request's (alpha, beta,
        channel_axis, conventions). Returns {output name: NumPy array}."""
        return self._infer(model, [(name, _arrays.as_input(v, name)) for name, v in inputs.items()], parameters)

    def model_metadata(self, name):
        """GET /v2/models/{name}: the model's inputs and outputs."""
        return self._get_json("/v2/models/" + urllib.parse.quote(name, safe=""))

    def server_metadata(self):
        """GET /v2: the server's name, version and extensions."""
        return self._get_json("/v2")
