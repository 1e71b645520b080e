#!/usr/bin/env python3
"""test_program_cache.py - end-to-end: the daemon's on-disk caches across
restarts. Every program-cache entry with its second half zeroed (what a torn
write leaves), or bytes flipped in its middle, or one entry replaced by a
FIFO: the next start serves correct forwards and rewrites the entries whole
(today's PoCL aborts on such a binary; a FIFO once blocked the start). A
cache directory PoCL cannot make, and a tune table with CR LF line ends,
stop the start with a message naming the directory or the file's line."""
import os
import shutil
import stat
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from harness import Checks, Daemon  # noqa: E402

MAGIC = b"leakycl-program-binary 2\n"
FORWARD = '{"activation":"leaky_relu","alpha":0.25,"x":[-4,-1,0,2.5]}'
WANT = b'{"y":[-1,-0.25,0,2.5]}'


def cache_env(programs):
    env = os.environ.copy()
    env["LEAKYCL_CACHE_DIR"] = programs
    env.pop("LEAKYCL_CACHE", None)
    return env


def serve_once(ck, name, env):
    """Starts the daemon, checks one forward and a clean exit."""
    try:
        d = Daemon(env=env)
    except RuntimeError as e:
        ck.check(name + "_starts", False, str(e)[-3000:])
        return
    try:
        st, _, data = d.request("POST", "/v1/forward", FORWARD)
        ck.check(name + "_forward_right", st == 200 and data == WANT, (st, data))
    finally:
        rc = d.stop()
        ck.check(name + "_exit_0", rc == 0, "exit %s\n%s" % (rc, d.stderr()[-2000:]))


def entries(programs):
    return sorted(os.path.join(programs, n) for n in os.listdir(programs) if n.endswith(".bin"))


def damage_every_entry(programs, damage):
    for path in entries(programs):
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            damage(data)
            f.seek(0)
            f.write(data)


def zero_second_half(data):
    half = len(data) // 2
    data[half:] = bytes(len(data) - half)


def flip_middle(data):
    for i in range(len(data) // 2, len(data) // 2 + 64, 3):
        data[i] ^= 0x5A


def entries_whole(programs):
    """Every entry starts with the magic and ends in something not zeroed."""
    bad = []
    for path in entries(programs):
        with open(path, "rb") as f:
            data = f.read()
        if not data.startswith(MAGIC) or not any(data[len(data) // 2:]):
            bad.append(path)
    return bad


def damaged_entries_checks(ck, root):
    programs = os.path.join(root, "programs")
    env = cache_env(programs)
    serve_once(ck, "first_start", env)
    count = len(entries(programs))
    ck.check("entries_written", count >= 3, os.listdir(programs) if os.path.isdir(programs) else "")
    for name, damage in (("zeroed_second_half", zero_second_half), ("flipped_bytes", flip_middle)):
        damage_every_entry(programs, damage)
        serve_once(ck, name, env)
        ck.check(name + "_entries_rewritten",
                 len(entries(programs)) == count and not entries_whole(programs),
                 entries_whole(programs))
    # A FIFO in one entry's place: a miss, not an open that waits forever.
    victim = entries(programs)[0]
    os.unlink(victim)
    os.mkfifo(victim)
    serve_once(ck, "fifo_entry", env)
    ck.check("fifo_replaced_by_entry", stat.S_ISREG(os.lstat(victim).st_mode))


def refused_start(env):
    """The daemon's stderr when it refuses to start, or None when it starts."""
    try:
        d = Daemon(env=env)
    except RuntimeError as e:
        return str(e)
    d.stop()
    return None


def unusable_cache_checks(ck, root):
    # XDG_CACHE_HOME and HOME name a file: no cache directory can be made,
    # and PoCL then offers no device. The message says which and why.
    afile = os.path.join(root, "a-file")
    open(afile, "w").close()
    env = os.environ.copy()
    for k in ("LEAKYCL_CACHE_DIR", "POCL_CACHE_DIR", "POCL_KERNEL_CACHE", "LEAKYCL_CACHE"):
        env.pop(k, None)
    env["XDG_CACHE_HOME"] = env["HOME"] = afile
    err = refused_start(env)
    if err is None:
        ck.skip("unusable_cache_named", "the OpenCL runtime needs no cache directory")
        return
    ck.check("unusable_cache_named",
             '"%s/pocl/kcache" cannot be used (Not a directory)' % afile in err and
             "seen: none" in err, err[-2000:])


def crlf_table_checks(ck, root):
    # A tune table saved with Windows line ends: refused, naming the file,
    # the line and the CR, never read as another variant.
    table = os.path.join(root, "variants.tsv")
    with open(table, "wb") as f:
        f.write(b"# leakycl: tuned variants\r\n")
    env = cache_env(os.path.join(root, "programs"))
    env["LEAKYCL_TUNE_FILE"] = table
    err = refused_start(env) or ""
    ck.check("crlf_table_refused", table in err and "line 1:" in err and "CR LF" in err and
             "variants\\r" in err, err[-2000:])


def main():
    ck = Checks()
    root = tempfile.mkdtemp(prefix="leakycl-e2e-cache-")
    try:
        damaged_entries_checks(ck, root)
        unusable_cache_checks(ck, root)
        crlf_table_checks(ck, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
