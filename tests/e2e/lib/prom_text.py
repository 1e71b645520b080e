"""prom_text.py - a strict reader of the Prometheus text format 0.0.4 for the
tests: every family has one TYPE (and at most one HELP) before its samples,
a family's samples are contiguous, label syntax and escapes are exact, no
series is given twice, and each histogram's buckets are cumulative with the
+Inf bucket equal to its _count. Raises ValueError naming the line."""
import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def _value(text, where):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError("%s: bad value %r" % (where, text))
    return float(text)


def _labels(text, where):
    """Parses the inside of {...}: name="value" pairs, comma-separated."""
    labels, i = {}, 0
    while i < len(text):
        m = re.compile(LABEL + r'="').match(text, i)
        if not m:
            raise ValueError("%s: bad label at %r" % (where, text[i:]))
        name = m.group(0)[:-2]
        i = m.end()
        value = []
        while True:
            if i >= len(text):
                raise ValueError("%s: unterminated label value" % where)
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError("%s: bad escape \\%s" % (where, nxt))
                value.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError("%s: newline in a label value" % where)
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise ValueError("%s: label %s given twice" % (where, name))
        labels[name] = "".join(value)
        if i < len(text):
            if text[i] != ",":
                raise ValueError("%s: expected a comma at %r" % (where, text[i:]))
            i += 1
    return labels


def _family_of(name, types):
    """The declared family a sample name belongs to, or None."""
    if name in types and types[name] not in ("histogram",):
        return name
    for fam, kind in types.items():
        for suffix in SUFFIXES.get(kind, ()):
            if suffix and name == fam + suffix:
                return fam
    return None


def parse(text):
    """Returns (types {family: type}, helps {family: text}, samples [(name,
    labels dict, value)]); raises ValueError on anything out of format."""
    if text and not text.endswith("\n"):
        raise ValueError("the text does not end with a newline")
    types, helps, samples, seen, done = {}, {}, [], set(), set()
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        where = "line %d %r" % (n, line[:120])
        if not line.strip():
            continue
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (" + NAME + r") (.*)", line)
            if not m:
                if line.startswith(("# HELP", "# TYPE")):
                    raise ValueError("%s: bad HELP/TYPE line" % where)
                continue  # a comment
            kind, fam, rest = m.groups()
            table = types if kind == "TYPE" else helps
            if fam in table:
                raise ValueError("%s: second %s for %s" % (where, kind, fam))
            if fam in done or (current and current != fam and fam in types):
                raise ValueError("%s: %s after the family's samples" % (where, kind))
            if kind == "TYPE":
                if rest not in TYPES:
                    raise ValueError("%s: unknown type %r" % (where, rest))
                if any(_family_of(s[0], {fam: rest}) for s in samples):
                    raise ValueError("%s: TYPE after samples of %s" % (where, fam))
            table[fam] = rest
            continue
        m = re.fullmatch("(" + NAME + r")(\{(.*)\})? (\S+)( -?\d+)?", line)
        if not m:
            raise ValueError("%s: bad sample line" % where)
        name, _, inner, value = m.group(1), m.group(2), m.group(3), m.group(4)
        fam = _family_of(name, types)
        if fam is None:
            raise ValueError("%s: sample of no declared family" % where)
        if fam != current:
            if fam in done:
                raise ValueError("%s: samples of %s are not contiguous" % (where, fam))
            if current:
                done.add(current)
            current = fam
        labels = _labels(inner, where) if inner else {}
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ValueError("%s: series given twice" % where)
        seen.add(key)
        samples.append((name, labels, _value(value, where)))
    _check_histograms(types, samples)
    return types, helps, samples


def _check_histograms(types, samples):
    for fam, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for name, labels, value in samples:
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            entry = series.setdefault(rest, {"buckets": [], "count": None, "sum": None})
            if name == fam + "_bucket":
                if "le" not in labels:
                    raise ValueError("%s: a bucket without le" % fam)
                entry["buckets"].append((_value(labels["le"], fam), value))
            elif name == fam + "_count":
                entry["count"] = value
            elif name == fam + "_sum":
                entry["sum"] = value
        for rest, entry in series.items():
            if not entry["buckets"] and entry["count"] is None:
                continue
            b = entry["buckets"]
            if [le for le, _ in b] != sorted(le for le, _ in b) or not b or b[-1][0] != math.inf:
                raise ValueError("%s%s: buckets out of order or no +Inf" % (fam, rest))
            if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                raise ValueError("%s%s: buckets not cumulative" % (fam, rest))
            if entry["count"] != b[-1][1] or entry["sum"] is None:
                raise ValueError("%s%s: _count differs from the +Inf bucket" % (fam, rest))


def value(samples, name, **labels):
    """The value of the one sample called name whose labels include labels,
    or None."""
    found = [v for n, lab, v in samples
             if n == name and all(lab.get(k) == w for k, w in labels.items())]
    return found[0] if len(found) == 1 else None
