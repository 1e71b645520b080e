"""leakycl_client - a client for leakycld, the leakycl activation daemon.

Standard library only (urllib). NumPy arrays are accepted and returned when
NumPy is importable; large tensors travel as base64 float32 automatically.
"""
import base64
import json
import math
import struct
import urllib.error
import urllib.request

try:  # optional
    import numpy as _np
except ImportError:  # pragma: no cover - exercised when numpy is absent
    _np = None

__all__ = ["Client", "LeakyclError"]
__version__ = "0.1.0"


class LeakyclError(Exception):
    """An error answered by the daemon (or the transport, status 0)."""

    def __init__(self, status, code, message):
        super().__init__("%s %s: %s" % (status, code, message))
        self.status = status
        self.code = code
        self.message = message


def _is_numpy(x):
    return _np is not None and isinstance(x, _np.ndarray)


def _flatten(x):
    """Values in C order and the nested shape of a (nested) list."""
    if _is_numpy(x):
        return [float(v) for v in x.astype("float32").ravel()], list(x.shape)
    if not isinstance(x, (list, tuple)):
        raise TypeError("a tensor must be a list, a tuple or a NumPy array")
    shape = []
    level = x
    while isinstance(level, (list, tuple)):
        shape.append(len(level))
        if not level:
            break
        level = level[0]
    flat = []

    def walk(v, depth):
        if depth == len(shape):
            flat.append(float(v))
            return
        if not isinstance(v, (list, tuple)) or len(v) != shape[depth]:
            raise ValueError("ragged nested list")
        for e in v:
            walk(e, depth + 1)

    walk(x, 0)
    return flat, shape


def _json_number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def _from_json(v):
    if isinstance(v, list):
        return [_from_json(e) for e in v]
    if isinstance(v, str):
        return float(v)  # "NaN", "Infinity", "-Infinity"
    return float(v)


def _nest(flat, shape):
    if len(shape) <= 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


class Client:
    """Talks to one leakycld at url (e.g. "http://127.0.0.1:8080")."""

    def __init__(self, url="http://127.0.0.1:8080", token=None, timeout=60.0, binary_threshold=4096):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.binary_threshold = binary_threshold

    # ---- transport ----
    def _request(self, method, path, payload=None):
        data = json.dumps(payload, allow_nan=False).encode() if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = resp.read()
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                err = json.loads(body)["error"]
                raise LeakyclError(e.code, err.get("code", ""), err.get("message", "")) from None
            except (ValueError, KeyError, TypeError):
                raise LeakyclError(e.code, "http_error", body.decode(errors="replace")) from None
        except urllib.error.URLError as e:
            raise LeakyclError(0, "unreachable", str(e.reason)) from None
        if ctype.startswith("application/json"):
            return json.loads(body)
        return body.decode()

    # ---- tensors ----
    def _put_tensor(self, job, name, x, binary):
        flat, shape = _flatten(x)
        use_b64 = binary if binary is not None else len(flat) >= self.binary_threshold
        if use_b64:
            if _is_numpy(x):
                raw = _np.ascontiguousarray(x, dtype="<f4").tobytes()
            else:
                raw = struct.pack("<%df" % len(flat), *flat)
            job[name + "_b64"] = base64.b64encode(raw).decode("ascii")
            job["dtype"] = "float32"
            if len(shape) > 1 and "shape" not in job:
                job["shape"] = shape
        else:
            job[name] = _nest([_json_number(v) for v in flat], shape) if len(shape) > 1 else \
                [_json_number(v) for v in flat]
        return shape, _is_numpy(x)

    @staticmethod
    def _get_tensor(result, name, shape, as_numpy):
        if name + "_b64" in result:
            raw = base64.b64decode(result.pop(name + "_b64"))
            result.pop("dtype", None)
            if _np is not None:
                arr = _np.frombuffer(raw, dtype="<f4").astype("float32")
                arr = arr.reshape(shape) if shape else arr
                result[name] = arr if as_numpy else arr.tolist()
            else:
                flat = list(struct.unpack("<%df" % (len(raw) // 4), raw))
                result[name] = _nest(flat, shape) if len(shape) > 1 else flat
        elif name in result:
            value = _from_json(result[name])
            if as_numpy:
                value = _np.asarray(value, dtype="float32").reshape(shape) if shape else \
                    _np.asarray(value, dtype="float32")
            result[name] = value
        for key in ("dalpha",):
            if key in result:
                result[key] = _from_json(result[key])
                if as_numpy:
                    result[key] = _np.asarray(result[key], dtype="float32")
        if "stats" in result:
            result["stats"] = {k: (_np.asarray(_from_json(v), dtype="float32") if as_numpy else _from_json(v))
                               for k, v in result["stats"].items()}
        return result

    def _job(self, op, activation, x, dy=None, alpha=None, beta=None, shape=None, channel_axis=None,
             binary=None, device=None, source=None):
        job = {"op": op, "activation": activation}
        if alpha is not None:
            job["alpha"] = [float(a) for a in (alpha.ravel() if _is_numpy(alpha) else alpha)] \
                if (_is_numpy(alpha) or isinstance(alpha, (list, tuple))) else float(alpha)
        if beta is not None:
            job["beta"] = float(beta)
        if shape is not None:
            job["shape"] = [int(s) for s in shape]
        if channel_axis is not None:
            job["channel_axis"] = int(channel_axis)
        if device is not None:
            job["device"] = device
        if source is not None:
            job["from"] = source
        xshape, as_numpy = self._put_tensor(job, "y" if source == "y" else "x", x, binary)
        if dy is not None:
            self._put_tensor(job, "dy", dy, binary)
        return job, xshape, as_numpy

    # ---- endpoints ----
    def health(self):
        return self._request("GET", "/v1/health")

    def devices(self):
        return self._request("GET", "/v1/devices")

    def activations(self):
        return self._request("GET", "/v1/activations")

    def metrics(self):
        return self._request("GET", "/metrics")

    def forward(self, activation, x, alpha=None, beta=None, shape=None, channel_axis=None, binary=None,
                device=None):
        """{"y": ...}: a list (nested like x) or, for a NumPy x, a float32 array of x's shape."""
        job, out_shape, as_numpy = self._job("forward", activation, x, None, alpha, beta, shape, channel_axis,
                                             binary, device)
        job.pop("op")
        return self._get_tensor(self._request("POST", "/v1/forward", job), "y", out_shape, as_numpy)

    def backward(self, activation, x, dy, alpha=None, beta=None, shape=None, channel_axis=None, binary=None,
                 device=None, source=None):
        """{"dx": ..., and for prelu/phased_relu "dalpha" and "stats"}; source="y" sends y for x."""
        job, out_shape, as_numpy = self._job("backward", activation, x, dy, alpha, beta, shape, channel_axis,
                                             binary, device, source)
        job.pop("op")
        return self._get_tensor(self._request("POST", "/v1/backward", job), "dx", out_shape, as_numpy)

    def batch(self, jobs, binary=None):
        """Runs jobs (dicts with op, activation, x, dy, alpha, ...) in one request; returns the list of
        results, where a failed job is {"error": {"code", "message"}} (it never fails the others)."""
        wire, meta = [], []
        for j in jobs:
            j = dict(j)
            op = j.pop("op", "forward")
            act = j.pop("activation")
            x = j.pop("y" if j.get("from") == "y" else "x")
            job, out_shape, as_numpy = self._job(op, act, x, j.pop("dy", None), j.pop("alpha", None),
                                                 j.pop("beta", None), j.pop("shape", None),
                                                 j.pop("channel_axis", None), binary, j.pop("device", None),
                                                 j.pop("from", None))
            job.update(j)  # e.g. "id"
            wire.append(job)
            meta.append((op, out_shape, as_numpy))
        results = self._request("POST", "/v1/batch", {"jobs": wire})["results"]
        out = []
        for r, (op, out_shape, as_numpy) in zip(results, meta):
            out.append(r if "error" in r else self._get_tensor(r, "y" if op == "forward" else "dx", out_shape,
                                                               as_numpy))
        return out
