#!/usr/bin/env python3
"""test_openapi.py - docs/openapi.json against the live daemon: it is valid
OpenAPI 3.0, GET /openapi.json serves it byte for byte, it documents every
route of server/api/routes.c (/v1 and /v2), and schemathesis
(tests/requirements.txt) finds no server error, no undocumented status code
and no response that breaks the schema, on the normal and on the ASan/UBSan
daemon."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import ROOT, Checks, Daemon, daemon_builds  # noqa: E402

DOC = os.path.join(ROOT, "docs", "openapi.json")
CONFIG = os.path.join(ROOT, "tests", "e2e", "lib", "schemathesis.toml")
# Examples per operation: both daemons together stay well under a minute.
EXAMPLES = {"": 120, "asan_": 60}
SEED = os.environ.get("LEAKYCL_SCHEMATHESIS_SEED", "20260611")


def schemathesis_binary():
    """The schemathesis next to this interpreter (make test runs the e2e
    tests with build/test-venv's python, where test-pydeps.sh put it)."""
    path = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    return path if os.access(path, os.X_OK) else None


def served_routes():
    """(path, method) of every row of the route table (server/api/routes.c:
    /v1 and /v2 in one table)."""
    with open(os.path.join(ROOT, "server", "api", "routes.c")) as f:
        return re.findall(r'\{"(/[^"]*)",\s*"([A-Z]+)"', f.read())


def documented(doc, path, method):
    """Whether the document lists path (or a template path it is the fixed
    prefix of, for a route that matches by prefix) with method."""
    for templ, item in doc["paths"].items():
        if method.lower() not in item:
            continue
        if templ == path:
            return True
        pattern = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(templ)) + "$"
        if re.match(pattern, path) or (path.endswith("/") and templ.startswith(path)):
            return True
    return False


def run_schemathesis(ck, tag, binary):
    st = schemathesis_binary()
    d = Daemon(binary=binary)
    try:
        url = "http://127.0.0.1:%d/openapi.json" % d.port
        cmd = [st, "--no-color", "--config-file", CONFIG, "run", url,
               "--max-examples", str(EXAMPLES[tag]),
               "--seed", SEED, "--request-timeout", "30", "--workers", "1"]
        start = time.time()
        # A scratch cwd: schemathesis keeps its cache in ./.schemathesis.
        with tempfile.TemporaryDirectory() as scratch:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               cwd=scratch, timeout=300)
        out = p.stdout.decode(errors="replace")
        summary = [line for line in out.splitlines()
                   if re.search(r"generated|No issues|failures? in|Selected", line)]
        print("# %s: %.1f s; %s" % (tag or "normal", time.time() - start, "; ".join(summary)))
        ck.check(tag + "schemathesis_no_failures", p.returncode == 0,
                 "\n".join(out.splitlines()[-60:]) + "\nreproduce: " + " ".join(cmd))
        m = re.search(r"Selected: (\d+)/", out)
        ck.check(tag + "schemathesis_tested_the_v1_paths", m and int(m.group(1)) >= 7, out[-2000:])
        ck.check(tag + "daemon_alive_after_schemathesis", d.alive(), d.stderr()[-2000:])
    finally:
        rc = d.stop()
    err = d.stderr()
    ck.check(tag + "daemon_clean_exit", rc == 0 and "Sanitizer" not in err and
             "runtime error" not in err, "rc=%s\n%s" % (rc, err[-3000:]))


def main():
    ck = Checks()
    with open(DOC, "rb") as f:
        raw = f.read()
    doc = json.loads(raw)

    try:
        from openapi_spec_validator import validate
        validate(doc)
        ck.check("document_is_valid_openapi_3", doc["openapi"].startswith("3."))
    except ImportError:
        ck.check("document_is_valid_openapi_3", False,
                 "openapi_spec_validator missing: run with scripts/test-pydeps.sh's python")
    except Exception as e:  # the validator's own error types
        ck.check("document_is_valid_openapi_3", False, str(e)[:2000])

    routes = served_routes()
    ck.check("routes_table_found", len(routes) >= 8, routes)
    missing = ["%s %s" % (m, p) for p, m in routes if not documented(doc, p, m)]
    ck.check("every_served_route_documented", not missing, missing)
    for path in ("/v1/health", "/v1/devices", "/v1/activations", "/v1/forward", "/v1/backward",
                 "/v1/batch", "/metrics", "/openapi.json", "/v2", "/v2/health/live",
                 "/v2/health/ready", "/v2/models/{name}", "/v2/models/{name}/ready",
                 "/v2/models/{name}/infer"):
        ck.check("documents " + path, path in doc["paths"], sorted(doc["paths"]))

    d = Daemon()
    try:
        status, hdrs, body = d.request("GET", "/openapi.json")
        ck.check("openapi_served_200_json",
                 status == 200 and hdrs.get("content-type", "").startswith("application/json"),
                 (status, hdrs))
        ck.check("openapi_served_is_the_document", body == raw,
                 "served %d bytes, docs/openapi.json has %d" % (len(body), len(raw)))
        status, hdrs, body = d.request("HEAD", "/openapi.json")
        ck.check("openapi_head_200", status == 200, status)
        status, hdrs, body = d.request("POST", "/openapi.json", body="{}")
        ck.check("openapi_post_405_allow_get",
                 status == 405 and hdrs.get("allow") == "GET, HEAD", (status, hdrs))
    finally:
        d.stop()

    if not schemathesis_binary():
        ck.check("schemathesis_installed", False,
                 "no schemathesis beside %s: make test runs the e2e tests with "
                 "scripts/test-pydeps.sh's venv (tests/requirements.txt)" % sys.executable)
        return ck.done()
    for tag, binary in daemon_builds(ck):
        run_schemathesis(ck, tag, binary)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
