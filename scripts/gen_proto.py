"""Regenerates the Python contracts from proto/ (run by `make proto`).

With --check it generates into a temporary folder and exits non-zero when the
committed code differs, which is how the tests catch stale contracts.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "libs" / "callscope-common" / "src"
PACKAGE_DIR = Path("callscope") / "v1"


def generate(out_dir: Path) -> None:
    """Runs protoc over every .proto file into out_dir/callscope/v1."""
    protos = sorted(
        str(p.relative_to(PROTO_DIR)) for p in (PROTO_DIR / PACKAGE_DIR).glob("*.proto")
    )
    include = Path(grpc_tools.__file__).parent / "_proto"
    # The mypy plugins live beside this interpreter, which need not be on PATH.
    plugins = Path(sys.executable).parent
    args = [
        "protoc",
        f"--plugin=protoc-gen-mypy={plugins / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={plugins / 'protoc-gen-mypy_grpc'}",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package in (out_dir / "callscope", out_dir / PACKAGE_DIR):
        (package / "__init__.py").touch()
        (package / "py.typed").touch()


def _differences(left: Path, right: Path) -> list[str]:
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__"])
    return [*comparison.left_only, *comparison.right_only, *comparison.diff_files]


def main() -> int:
    """Entry point: generate, or with --check compare against a fresh generation."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed code is stale")
    options = parser.parse_args()
    if not options.check:
        shutil.rmtree(OUT_DIR / PACKAGE_DIR, ignore_errors=True)
        generate(OUT_DIR)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        stale = _differences(Path(tmp) / PACKAGE_DIR, OUT_DIR / PACKAGE_DIR)
    if stale:
        print("stale generated contracts, run `make proto`:", ", ".join(sorted(stale)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
