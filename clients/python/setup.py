"""setup.py - bundles libleakycl.so into the package (leakycl/_lib/) so
`pip install ./clients/python` gives a working `import leakycl` without
`make install`. The library comes from $LEAKYCL_LIBRARY, else from the
source tree this directory sits in (<root>/build/lib, built with `make lib`
when missing). Outside a source tree nothing is bundled and leakycl finds
the system's libleakycl.so.0 at run time. The metadata is in pyproject.toml."""
import os
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def source_library():
    env = os.environ.get("LEAKYCL_LIBRARY")
    if env:
        return env
    if not os.path.exists(os.path.join(ROOT, "host", "include", "leakycl.h")):
        return None  # not in a source tree
    build = os.environ.get("LEAKYCL_BUILD", "build")
    lib = os.path.join(ROOT, build, "lib", "libleakycl.so")
    if not os.path.exists(lib):
        subprocess.check_call(["make", "-C", ROOT, "BUILD=" + build, "lib"])
    return lib


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        lib = source_library()
        if lib:
            dest = os.path.join(self.build_lib, "leakycl", "_lib")
            os.makedirs(dest, exist_ok=True)
            shutil.copyfile(os.path.realpath(lib), os.path.join(dest, "libleakycl.so"))


class BinaryDistribution(Distribution):
    """The wheel holds a shared library: tag it for this platform."""

    def has_ext_modules(self):
        return source_library() is not None


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
