#!/usr/bin/env python3
"""test_deploy_manifests.py - server/deploy/ checked without a cluster: the
KServe manifests (kserve/*.yaml) against a structural schema written here
from the KServe CRDs (serving.kserve.io/v1beta1 InferenceService,
v1alpha1 ServingRuntime) and Kubernetes core/v1 (Container, Probe, Volume):
required fields, known fields only (as kubectl's strict field validation),
types and enums; then against leakycld itself: every --flag in the manifests,
in leakycld.service's ExecStart lines and anywhere else in server/deploy/ is
one of `leakycld --help`, the --listen port is the containerPort and the
probes' port, the probe paths are in docs/openapi.json, the runtime the
InferenceService names exists and serves its model format and protocol, and
the cache variables point into a mounted volume (the root filesystem is
read-only). No network, no kubectl: PyYAML only (SKIP without it).
systemd-analyze verify of the unit is tests/e2e/test_install.sh's."""
import glob
import json
import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import ROOT, Checks, daemon_binary  # noqa: E402

DEPLOY = os.path.join(ROOT, "server", "deploy")

# --- the schema ------------------------------------------------------------
# A node is a type (str, int, bool, "quantity", "any"), a set (an enum of
# strings), ["list", node], ["map", node] (string keys), or a dict
# {"field": node, ...} with "!field" for required fields; a dict admits only
# the fields it names.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")

STR_MAP = ["map", str]
OBJECT_META = {"!name": "dns", "namespace": "dns", "labels": STR_MAP, "annotations": STR_MAP,
               "generateName": str}
RESOURCES = {"requests": ["map", "quantity"], "limits": ["map", "quantity"],
             "claims": ["list", {"!name": str}]}
ENV_VAR = {"!name": str, "value": str, "valueFrom": "any"}
PORT = {"!containerPort": "port", "name": str, "protocol": {"TCP", "UDP", "SCTP"},
        "hostPort": "port", "hostIP": str}
INT_OR_NAME = "port_or_name"
PROBE = {"httpGet": {"!port": INT_OR_NAME, "path": str, "host": str,
                     "scheme": {"HTTP", "HTTPS"},
                     "httpHeaders": ["list", {"!name": str, "!value": str}]},
         "tcpSocket": {"!port": INT_OR_NAME, "host": str},
         "exec": {"command": ["list", str]},
         "grpc": {"!port": "port", "service": str},
         "initialDelaySeconds": int, "periodSeconds": int, "timeoutSeconds": int,
         "successThreshold": int, "failureThreshold": int,
         "terminationGracePeriodSeconds": int}
SECURITY_CONTEXT = {"runAsNonRoot": bool, "runAsUser": int, "runAsGroup": int,
                    "allowPrivilegeEscalation": bool, "readOnlyRootFilesystem": bool,
                    "privileged": bool, "procMount": str, "seLinuxOptions": "any",
                    "seccompProfile": {"!type": {"RuntimeDefault", "Localhost", "Unconfined"},
                                       "localhostProfile": str},
                    "capabilities": {"add": ["list", str], "drop": ["list", str]}}
VOLUME_MOUNT = {"!name": str, "!mountPath": str, "readOnly": bool, "subPath": str,
                "subPathExpr": str, "mountPropagation": str}
CONTAINER_FIELDS = {"image": str, "command": ["list", str], "args": ["list", str],
                    "workingDir": str, "env": ["list", ENV_VAR], "envFrom": ["list", "any"],
                    "ports": ["list", PORT], "resources": RESOURCES,
                    "readinessProbe": PROBE, "livenessProbe": PROBE, "startupProbe": PROBE,
                    "volumeMounts": ["list", VOLUME_MOUNT], "securityContext": SECURITY_CONTEXT,
                    "imagePullPolicy": {"Always", "IfNotPresent", "Never"},
                    "lifecycle": "any", "terminationMessagePath": str,
                    "terminationMessagePolicy": {"File", "FallbackToLogsOnError"},
                    "stdin": bool, "tty": bool}
CONTAINER = dict(CONTAINER_FIELDS, **{"!name": "dns"})
VOLUME = {"!name": "dns", "emptyDir": {"medium": str, "sizeLimit": "quantity"},
          "configMap": "any", "secret": "any", "persistentVolumeClaim": "any",
          "hostPath": "any", "projected": "any", "csi": "any", "ephemeral": "any"}
POD_FIELDS = {"containers": ["list", CONTAINER], "volumes": ["list", VOLUME],
              "nodeSelector": STR_MAP, "affinity": "any", "tolerations": ["list", "any"],
              "serviceAccountName": str, "imagePullSecrets": ["list", {"!name": str}],
              "securityContext": "any", "priorityClassName": str,
              "runtimeClassName": str, "hostIPC": bool}
PROTOCOLS = {"v1", "v2", "grpc-v1", "grpc-v2"}
# serving.kserve.io/v1beta1 ModelSpec: a Container (its name optional) and
# the model's fields.
MODEL_SPEC = dict(CONTAINER_FIELDS, **{
    "name": str, "!modelFormat": {"!name": str, "version": str}, "runtime": "dns",
    "protocolVersion": PROTOCOLS, "storageUri": str, "storage": "any",
    "runtimeVersion": str})
COMPONENT_EXTENSION = {"minReplicas": "nonneg", "maxReplicas": "nonneg", "scaleTarget": int,
                       "scaleMetric": {"cpu", "memory", "concurrency", "rps"},
                       "containerConcurrency": int, "timeout": int,
                       "canaryTrafficPercent": int, "labels": STR_MAP,
                       "annotations": STR_MAP, "deploymentStrategy": "any",
                       "logger": "any", "batcher": "any"}
PREDICTOR = dict(POD_FIELDS, **COMPONENT_EXTENSION, model=MODEL_SPEC)
INFERENCE_SERVICE = {"!apiVersion": {"serving.kserve.io/v1beta1"},
                     "!kind": {"InferenceService"}, "!metadata": OBJECT_META,
                     "!spec": {"!predictor": PREDICTOR, "transformer": "any",
                               "explainer": "any"}}
SERVING_RUNTIME = {
    "!apiVersion": {"serving.kserve.io/v1alpha1"}, "!kind": {"ServingRuntime",
                                                            "ClusterServingRuntime"},
    "!metadata": OBJECT_META,
    "!spec": dict(POD_FIELDS, **{
        "!containers": ["list", CONTAINER],
        "!supportedModelFormats": ["list", {"!name": str, "version": str, "autoSelect": bool,
                                            "priority": int}],
        "protocolVersions": ["list", PROTOCOLS], "multiModel": bool, "disabled": bool,
        "grpcEndpoint": str, "grpcDataEndpoint": str, "httpDataEndpoint": str,
        "replicas": int, "storageHelper": {"disabled": bool}, "builtInAdapter": "any",
        "labels": STR_MAP, "annotations": STR_MAP, "workerSpec": "any"})}
SCHEMAS = {"InferenceService": INFERENCE_SERVICE, "ServingRuntime": SERVING_RUNTIME,
           "ClusterServingRuntime": SERVING_RUNTIME}


def validate(node, value, path, errors):
    if node == "any":
        return
    if isinstance(node, set):
        if value not in node:
            errors.append("%s: %r not one of %s" % (path, value, sorted(node)))
    elif isinstance(node, list):
        kind, sub = node
        if kind == "list":
            if not isinstance(value, list):
                errors.append("%s: expected a list" % path)
                return
            for i, v in enumerate(value):
                validate(sub, v, "%s[%d]" % (path, i), errors)
        else:
            if not isinstance(value, dict):
                errors.append("%s: expected a map" % path)
                return
            for k, v in value.items():
                if not isinstance(k, str):
                    errors.append("%s: key %r not a string" % (path, k))
                validate(sub, v, "%s.%s" % (path, k), errors)
    elif isinstance(node, dict):
        if not isinstance(value, dict):
            errors.append("%s: expected an object" % path)
            return
        fields = {k.lstrip("!"): v for k, v in node.items()}
        for k in node:
            if k.startswith("!") and k[1:] not in value:
                errors.append("%s: required field %s missing" % (path, k[1:]))
        for k, v in value.items():
            if k not in fields:
                errors.append("%s: unknown field %s" % (path, k))
            else:
                validate(fields[k], v, "%s.%s" % (path, k), errors)
    elif node is str:
        if not isinstance(value, str):
            errors.append("%s: %r is not a string" % (path, value))
    elif node is bool or node is int:
        if type(value) is not node:
            errors.append("%s: %r is not %s" % (path, value, node.__name__))
    elif node == "nonneg":
        if type(value) is not int or value < 0:
            errors.append("%s: %r is not an integer >= 0" % (path, value))
    elif node == "port":
        if type(value) is not int or not 0 < value < 65536:
            errors.append("%s: %r is not a port" % (path, value))
    elif node == "port_or_name":
        if not (type(value) is int and 0 < value < 65536 or
                isinstance(value, str) and DNS_LABEL.match(value) and len(value) <= 15):
            errors.append("%s: %r is neither a port nor a port name" % (path, value))
    elif node == "quantity":
        if not (type(value) is int or isinstance(value, str) and QUANTITY.match(value)):
            errors.append("%s: %r is not a quantity" % (path, value))
    elif node == "dns":
        if not (isinstance(value, str) and len(value) <= 63 and DNS_LABEL.match(value)):
            errors.append("%s: %r is not a DNS-1123 label" % (path, value))
    else:
        raise AssertionError("bad schema node %r" % (node,))


# --- leakycld's side -------------------------------------------------------
def help_flags():
    out = subprocess.run([daemon_binary(), "--help"], capture_output=True, text=True)
    return set(re.findall(r"--[a-z][a-z0-9-]*", out.stdout + out.stderr))


def flag_value(args, flag):
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def check_container(ck, name, c, flags, api_paths, volumes):
    args = list(c.get("command", [])) + list(c.get("args", []))
    ck.check(name + "_runs_leakycld", args[:1] == ["leakycld"], args)
    unknown = [a.split("=")[0] for a in args if a.startswith("--") and a.split("=")[0] not in flags]
    ck.check(name + "_flags_in_help", not unknown, unknown)
    listen = flag_value(args, "--listen")
    m = re.match(r"^(\[[0-9a-fA-F:]+\]|[^:]+):(\d+)$", listen or "")
    ck.check(name + "_listens_beyond_loopback",
             m and m.group(1) not in ("127.0.0.1", "localhost", "[::1]"), listen)
    port = int(m.group(2)) if m else None
    cports = [p.get("containerPort") for p in c.get("ports", [])]
    ck.check(name + "_containerport_is_listen_port", cports == [port], (cports, port))
    named = {p["name"]: p["containerPort"] for p in c.get("ports", []) if "name" in p}
    probes = {k: c[k] for k in ("readinessProbe", "livenessProbe", "startupProbe") if k in c}
    ck.check(name + "_has_readiness_and_liveness",
             "readinessProbe" in probes and "livenessProbe" in probes, sorted(probes))
    bad = []
    for k, p in probes.items():
        g = p.get("httpGet") or p.get("tcpSocket") or {}
        pp = named.get(g.get("port"), g.get("port"))
        if pp != port:
            bad.append("%s port %r" % (k, g.get("port")))
        if "httpGet" in p and p["httpGet"].get("path") not in api_paths:
            bad.append("%s path %r not in docs/openapi.json" % (k, p["httpGet"].get("path")))
    ck.check(name + "_probes_hit_the_daemon", not bad, bad)
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    missing = [v for v in mounts if v not in volumes]
    ck.check(name + "_mounts_declared_volumes", not missing, missing)
    if c.get("securityContext", {}).get("readOnlyRootFilesystem"):
        env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
        outside = [(k, env[k]) for k in ("LEAKYCL_CACHE_DIR", "XDG_CACHE_HOME", "POCL_CACHE_DIR")
                   if k in env and not any(env[k] == mp or env[k].startswith(mp.rstrip("/") + "/")
                                           for mp in mounts.values())]
        ck.check(name + "_caches_on_a_writable_volume", not outside, outside)


def main():
    ck = Checks()
    flags = help_flags()
    ck.check("leakycld_help_lists_flags", "--listen" in flags and "--device" in flags, flags)

    # Every --flag written anywhere in server/deploy/ (commands, comments,
    # prose) is leakycld's; --now is systemctl's.
    others = {"--now"}
    bad = []
    for path in sorted(glob.glob(os.path.join(DEPLOY, "**", "*"), recursive=True)):
        if os.path.isfile(path):
            with open(path) as f:
                for n, line in enumerate(f, 1):
                    for fl in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line):
                        if fl not in flags and fl not in others:
                            bad.append("%s:%d: %s" % (os.path.relpath(path, ROOT), n, fl))
    ck.check("deploy_files_name_only_real_flags", not bad, bad)

    # The unit's ExecStart lines (the commented token example too).
    with open(os.path.join(DEPLOY, "leakycld.service")) as f:
        unit = f.read()
    execs = [shlex.split(v) for v in re.findall(r"^#?ExecStart=(.+)$", unit, re.M)]
    ck.check("unit_has_execstart", any(e and e[0].endswith("/leakycld") for e in execs), execs)
    unknown = [a for e in execs for a in e[1:] if a.startswith("--") and a not in flags]
    ck.check("unit_execstart_flags_in_help", not unknown, unknown)

    try:
        import yaml
    except ImportError:
        ck.skip("kserve_manifests", "no PyYAML (Debian's python3-yaml) in this Python")
        return ck.done()
    with open(os.path.join(ROOT, "docs", "openapi.json")) as f:
        api_paths = set(json.load(f)["paths"])

    docs = {}
    for path in sorted(glob.glob(os.path.join(DEPLOY, "kserve", "*.yaml"))):
        name = os.path.basename(path)
        try:
            with open(path) as f:
                items = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            ck.check(name + "_parses", False, e)
            continue
        for d in items:
            kind = d.get("kind") if isinstance(d, dict) else None
            errors = []
            if kind not in SCHEMAS:
                errors.append("kind %r is not InferenceService or ServingRuntime" % kind)
            else:
                validate(SCHEMAS[kind], d, kind, errors)
                docs.setdefault(kind, []).append(d)
            ck.check("%s_%s_matches_schema" % (name, kind), not errors, "\n".join(errors))
    runtimes = docs.get("ServingRuntime", []) + docs.get("ClusterServingRuntime", [])
    services = docs.get("InferenceService", [])
    ck.check("manifests_have_a_runtime_and_a_service", runtimes and services,
             sorted(docs))

    for rt in runtimes:
        spec = rt.get("spec", {})
        cs = spec.get("containers", [])
        ck.check("runtime_container_is_kserve_container",
                 cs and cs[0].get("name") == "kserve-container", [c.get("name") for c in cs])
        volumes = {v.get("name") for v in spec.get("volumes", [])}
        if cs:
            check_container(ck, "runtime", cs[0], flags, api_paths, volumes)

    by_name = {rt["metadata"]["name"]: rt for rt in runtimes if "name" in rt.get("metadata", {})}
    for isvc in services:
        pred = isvc.get("spec", {}).get("predictor", {})
        lo, hi = pred.get("minReplicas", 1), pred.get("maxReplicas", 1)
        ck.check("service_replicas_ordered", not isinstance(hi, int) or hi == 0 or lo <= hi,
                 (lo, hi))
        model = pred.get("model")
        if model is None:
            # Containers instead of a model: the same checks as a runtime's.
            cs = pred.get("containers", [])
            ck.check("service_predictor_has_model_or_containers", bool(cs), pred)
            if cs:
                check_container(ck, "service", cs[0], flags, api_paths,
                                {v.get("name") for v in pred.get("volumes", [])})
            continue
        rt = by_name.get(model.get("runtime"))
        ck.check("service_runtime_exists", rt is not None, (model.get("runtime"), sorted(by_name)))
        if rt:
            fmts = [f.get("name") for f in rt["spec"].get("supportedModelFormats", [])]
            ck.check("service_model_format_supported",
                     model.get("modelFormat", {}).get("name") in fmts, fmts)
            protos = rt["spec"].get("protocolVersions", ["v1"])
            ck.check("service_protocol_supported",
                     model.get("protocolVersion", "v1") in protos, protos)
        extra = [a for a in model.get("args", []) if a.startswith("--") and a not in flags]
        ck.check("service_model_args_in_help", not extra, extra)

    # The validator itself rejects what it should (else the above proves
    # nothing).
    broken = yaml.safe_load("""
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: Bad_Name}
spec:
  predictor:
    minReplicas: -1
    model: {runtime: leakycld, protocolVersion: v3}
    containres: []
""")
    errors = []
    validate(INFERENCE_SERVICE, broken, "InferenceService", errors)
    want = ["Bad_Name", "minReplicas", "modelFormat missing", "v3", "unknown field containres"]
    ck.check("schema_rejects_a_broken_manifest",
             all(any(w in e for e in errors) for w in want), "\n".join(errors))
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
