# SPDX-License-Identifier: Apache-2.0
"""Builds the traction package: the protobuf modules generated from proto/
(protoc, Debian's protobuf-compiler) into traction/v1/, and the typed API of
every service (traction/_services.py) generated from their descriptors.

The metadata is in pyproject.toml; this file only adds the generation step
to build_py. The .proto files are found in $TRACTION_PROTO_DIR, else in
../../proto of this directory (a checkout of traction).
"""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def proto_dir():
    d = os.environ.get("TRACTION_PROTO_DIR", os.path.join(HERE, "..", "..", "proto"))
    if not glob.glob(os.path.join(d, "traction", "v1", "*.proto")):
        sys.exit(f"traction: no traction/v1/*.proto under {d} (set TRACTION_PROTO_DIR)")
    return os.path.abspath(d)


class BuildWithProtos(build_py):
    def byte_compile(self, files):
        # asked not to (--no-compile): quiet, even where bytecode is off
        if self.compile or self.optimize:
            super().byte_compile(files)

    def run(self):
        super().run()
        out = os.path.join(self.build_lib)
        protoc = shutil.which("protoc")
        if protoc is None:
            sys.exit("traction: protoc is needed (Debian: apt-get install protobuf-compiler)")
        src = proto_dir()
        protos = sorted(glob.glob(os.path.join(src, "traction", "v1", "*.proto")))
        subprocess.check_call([protoc, f"--proto_path={src}", f"--python_out={out}", *protos])
        # the typed API, from the modules just made
        sys.path.insert(0, out)
        try:
            from traction import _codegen  # the package being built
            with open(os.path.join(out, "traction", "_services.py"), "w") as f:
                f.write(_codegen.generate())
        finally:
            sys.path.remove(out)
            for m in [m for m in sys.modules if m == "traction" or m.startswith("traction.")]:
                del sys.modules[m]


setup(cmdclass={"build_py": BuildWithProtos})
