"""_types.py - what the in-process and the HTTP API share: the one error
type, the result tuples and the job description."""
import collections


class Error(Exception):
    """Every failure of leakycl, in process or over HTTP.

    status: the library's status name ("INVALID_ARGUMENT", "NO_DEVICE",
            "UNSUPPORTED", "OUT_OF_MEMORY", ...) or, over HTTP, the daemon's
            error code upper-cased ("INVALID_ARGUMENT", "UNAUTHORIZED",
            "NOT_FOUND", "PAYLOAD_TOO_LARGE", "UNAVAILABLE", ...);
            "UNREACHABLE" when no daemon answered.
    message: the detail (which argument, which limit, the OpenCL error).
    http_status: the HTTP status over HTTP, None in process.
    job_index: in run_jobs, the index of the job that failed, else None.
    """

    def __init__(self, status, message, http_status=None, job_index=None):
        super().__init__("%s: %s" % (status, message))
        self.status = status
        self.message = message
        self.http_status = http_status
        self.job_index = job_index


# backward's answer: dx (like x), and for prelu and phased_relu the parameter
# gradient and the per-channel diagnostics (float32 arrays of alpha's length;
# None for relu and leaky_relu).
Backward = collections.namedtuple("Backward", "dx dalpha neg_fraction mean_abs_grad")
# reduce's answer: Backward without dx.
Reduce = collections.namedtuple("Reduce", "dalpha neg_fraction mean_abs_grad")


class Job(collections.namedtuple("Job", "op activation x dy alpha beta channel_axis source conventions")):
    """One job of run_jobs: op is "forward" or "backward"; the rest are the
    arguments of forward()/backward() of the same names. conventions comes
    last so that positional jobs written before it still mean the same."""

    def __new__(cls, op, activation, x, dy=None, alpha=None, beta=None, channel_axis=None, source="x",
                conventions="pytorch"):
        return super().__new__(cls, op, activation, x, dy, alpha, beta, channel_axis, source, conventions)


ACTIVATIONS = ("relu", "leaky_relu", "prelu", "phased_relu")
# The conventions profiles (what the formulas give at -0, NaN and Inf; the
# library's leakycl_conventions, in its order); the first is the default.
CONVENTIONS = ("pytorch", "ieee", "jax")
DTYPES = ("float32", "float16", "bfloat16")


def as_job(j):
    """A Job from a Job or a dict with the same keys."""
    if isinstance(j, Job):
        return j
    if isinstance(j, dict):
        unknown = set(j) - set(Job._fields) - {"from"}
        if unknown:
            raise Error("INVALID_ARGUMENT", "unknown job field(s): " + ", ".join(sorted(unknown)))
        j = dict(j)
        if "from" in j:
            j["source"] = j.pop("from")
        if "op" not in j or "activation" not in j or "x" not in j:
            raise Error("INVALID_ARGUMENT", "a job needs op, activation and x")
        return Job(**j)
    raise Error("INVALID_ARGUMENT", "a job is a leakycl.Job or a dict, not %s" % type(j).__name__)


def check_source(source):
    if source not in ("x", "y"):
        raise Error("INVALID_ARGUMENT", 'source must be "x" or "y", not %r' % (source,))
    return source


def check_activation(activation):
    if activation not in ACTIVATIONS:
        raise Error("INVALID_ARGUMENT", "unknown activation %r (one of %s)" % (activation, ", ".join(ACTIVATIONS)))
    return activation


def check_conventions(conventions):
    if not isinstance(conventions, str) or conventions not in CONVENTIONS:
        raise Error("INVALID_ARGUMENT", "unknown conventions %r (one of %s)" % (
            conventions, ", ".join(CONVENTIONS)))
    return conventions
