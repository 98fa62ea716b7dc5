"""Export a tinynet ``Sequential`` to ONNX: the eval-mode network, as onnxruntime runs it.

    from tinynet.interop.onnx_export import to_onnx
    to_onnx(model, "alexnet.onnx", (1, 3, 227, 227))

The graph has one input ``"input"`` (N, C, H, W) float32, N symbolic, and one output
``"logits"``; parameters are float32 initializers named as in ``model.state_dict()``. It is the
network in eval mode: Dropout is the identity and is left out. Layer by layer:

- ``Conv2D`` -> Conv (+ Relu when a ReLU was fused into it, ``relu=True``); a ReLU whose
  ``fused_into`` is set -> nothing; a plain ``ReLU`` -> Relu.
- ``MaxPool2D`` -> MaxPool (floor mode, padding ignored by the max, as tinynet's -inf).
- ``LocalResponseNorm`` -> LRN. ONNX's LRN, like tinynet's (PyTorch's), divides alpha by size;
  for an even size the windows differ (ONNX puts the extra channel after, tinynet before) and
  onnxruntime refuses even sizes, so those are written out as Mul/AveragePool/Pow/Div.
- ``Flatten`` -> Flatten(axis=1); ``Linear`` -> Gemm(transB=1); ``Dropout`` -> nothing.
- ``AdaptiveAvgPool2D`` -> nothing if the output is the input's size, GlobalAveragePool for
  1x1, AveragePool (kernel = stride = in/out) where the output divides the input, Resize
  (nearest, a whole factor) where the output is a multiple of it; else a ValueError.

The spatial sizes come from one forward pass on zeros of ``input_shape`` (batch 1, eval mode).
``model.info`` is stored as metadata_props (values JSON-encoded), tinynet as the producer.
Needs the ``onnx`` package (``pip install onnx``, or the ``interop`` extra).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .. import layers
from ..files import atomic_write
from ..sequential import Sequential

__all__ = ["to_onnx", "MIN_OPSET"]

#: Unsqueeze/Squeeze take their axes as inputs from opset 13 on (used for an even-sized LRN).
MIN_OPSET = 13
#: The largest (C, H, W) ``to_onnx`` traces: 2**26 float32 values (256 MiB) per image.
MAX_TRACE_VALUES = 2**26


def to_onnx(model, path, input_shape, *, opset: int = 17) -> Path:
    """Write ``model`` (a ``Sequential`` of tinynet layers) as an ONNX file; returns ``Path(path)``.

    ``input_shape`` is (N, C, H, W) or (C, H, W); N is symbolic in the file (any batch runs).
    The model is checked with ``onnx.checker.check_model`` and written atomically (a reader
    never sees a half-written file; on any error no temporary file is left). A layer with no
    ONNX mapping is a ValueError naming it; the model's train/eval mode is left as it was.
    """
    onnx = _import_onnx()
    if not isinstance(model, Sequential):
        raise ValueError(f"to_onnx: expected a tinynet Sequential, got {type(model).__name__}")
    chw = _checked_shape(input_shape)
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(
            f"to_onnx: opset must be an integer in [{MIN_OPSET}, "
            f"{onnx.defs.onnx_opset_version()}], got {opset!r}"
        )
    exporters = [(name, layer, _exporter(name, layer)) for name, layer in model]
    shapes = _trace(model, chw)
    graph = _Graph(onnx)
    for (name, layer, export), (x_shape, y_shape) in zip(exporters, shapes):
        export(graph, name, layer, x_shape, y_shape)
    out_shape = shapes[-1][1] if shapes else (1, *chw)
    proto = graph.model(chw, out_shape, opset, model.info)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    return atomic_write(path, lambda f: f.write(data))


def _import_onnx():
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError:
        raise ImportError(
            "to_onnx needs the onnx package: pip install onnx (or pip install -e '.[interop]')"
        ) from None
    return onnx


def _checked_shape(input_shape) -> tuple[int, int, int]:
    """(C, H, W) of an (N, C, H, W) or (C, H, W) ``input_shape`` of positive integers."""
    try:
        dims = tuple(int(d) for d in input_shape)
        ok = len(dims) in (3, 4) and all(d >= 1 and d == e for d, e in zip(dims, input_shape))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"to_onnx: input_shape must be (N, C, H, W) or (C, H, W) positive integers, "
            f"got {input_shape!r}"
        )
    chw = dims[-3:]
    if math.prod(chw) > MAX_TRACE_VALUES:  # the shapes are traced by a forward pass on zeros
        raise ValueError(
            f"to_onnx: input_shape {input_shape!r} is too big to trace: one image of "
            f"{math.prod(chw):,} values (at most {MAX_TRACE_VALUES:,}: AlexNet's is 154,587)"
        )
    return chw


def _trace(model: Sequential, chw) -> list[tuple[tuple, tuple]]:
    """(input shape, output shape) of every layer, from a forward pass on zeros in eval mode."""
    x = np.zeros((1, *chw), dtype=np.float32)
    shapes = []
    with model.evaluating():
        for _, layer in model:
            y = layer.forward(x)
            shapes.append((x.shape, y.shape))
            x = y
    return shapes


class _Graph:
    """The nodes and initializers built so far; ``tensor`` is the current activation's name."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.nodes, self.initializers = [], []
        self.tensor = "input"

    def constant(self, name: str, array, dtype=np.float32) -> str:
        array = np.ascontiguousarray(array, dtype=dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, name: str, *inputs: str, first=None, **attrs) -> str:
        """Append ``op(first or the current tensor, *inputs)`` named ``name``, now current."""
        first = self.tensor if first is None else first
        self.nodes.append(self.onnx.helper.make_node(op, [first, *inputs], [name], name, **attrs))
        self.tensor = name
        return name

    def model(self, chw, out_shape, opset: int, info: dict):
        from tinynet import __version__

        helper, TensorProto = self.onnx.helper, self.onnx.TensorProto
        if self.tensor == "input":  # nothing to compute: the output is the input
            self.node("Identity", "logits")
        else:
            self.nodes[-1].output[0] = self.tensor = "logits"
        graph = helper.make_graph(
            self.nodes,
            "tinynet",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *chw])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", *out_shape[1:]])],
            initializer=self.initializers,
        )
        proto = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", opset)],
            producer_name="tinynet",
            producer_version=__version__,
            doc_string="tinynet model exported in eval mode (Dropout is the identity)",
        )
        if info:
            props = {str(k): json.dumps(v, default=_jsonable) for k, v in info.items()}
            helper.set_model_props(proto, props)
        return proto


def _jsonable(value):
    """NumPy scalars and arrays in ``info`` as plain Python values."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"to_onnx: model.info value {value!r} is not JSON-serialisable")


# -- one function per layer class: (graph, name, layer, input shape, output shape) -------------


def _conv(g: _Graph, name, layer, x_shape, y_shape):
    (ph, pw), kernel, stride = layer.padding, layer.kernel_size, layer.stride
    weight = g.constant(f"{name}.weight", layer.params["weight"])
    bias = g.constant(f"{name}.bias", layer.params["bias"])
    g.node(
        "Conv", f"{name}.out", weight, bias, kernel_shape=list(kernel), strides=list(stride),
        pads=[ph, pw, ph, pw], group=layer.groups,
    )  # fmt: skip
    if layer.relu:
        g.node("Relu", f"{name}.relu")


def _relu(g: _Graph, name, layer, x_shape, y_shape):
    if not layer.fused_into:
        g.node("Relu", f"{name}.out")


def _maxpool(g: _Graph, name, layer, x_shape, y_shape):
    (ph, pw), kernel, stride = layer.padding, layer.kernel_size, layer.stride
    g.node(
        "MaxPool", f"{name}.out", kernel_shape=list(kernel), strides=list(stride),
        pads=[ph, pw, ph, pw], ceil_mode=0,
    )  # fmt: skip


def _lrn(g: _Graph, name, layer, x_shape, y_shape):
    if layer.size % 2:  # same window as tinynet's
        g.node("LRN", f"{name}.out", size=layer.size, alpha=layer.alpha, beta=layer.beta,
               bias=layer.k)  # fmt: skip
        return
    # even size: b = a / (k + alpha * mean over channels [c - size//2, c + size//2 - 1]) ** beta
    x, n = g.tensor, layer.size
    axis = g.constant(f"{name}.axis", [1], np.int64)
    g.node("Mul", f"{name}.square", x)
    g.node("Unsqueeze", f"{name}.stack", axis)
    g.node("AveragePool", f"{name}.mean", kernel_shape=[n, 1, 1],
           pads=[n // 2, 0, 0, n // 2 - 1, 0, 0], count_include_pad=1)  # fmt: skip
    g.node("Squeeze", f"{name}.sum", axis)
    g.node("Mul", f"{name}.scaled", g.constant(f"{name}.alpha", layer.alpha))
    g.node("Add", f"{name}.base", g.constant(f"{name}.k", layer.k))
    g.node("Pow", f"{name}.denominator", g.constant(f"{name}.beta", layer.beta))
    g.node("Div", f"{name}.out", g.tensor, first=x)


def _nothing(g: _Graph, name, layer, x_shape, y_shape):
    """Dropout: the identity in eval mode, which is what the export is."""


def _flatten(g: _Graph, name, layer, x_shape, y_shape):
    g.node("Flatten", f"{name}.out", axis=1)


def _linear(g: _Graph, name, layer, x_shape, y_shape):
    weight = g.constant(f"{name}.weight", layer.params["weight"])  # (out, in)
    bias = g.constant(f"{name}.bias", layer.params["bias"])
    g.node("Gemm", f"{name}.out", weight, bias, transB=1)


def _adaptive_avgpool(g: _Graph, name, layer, x_shape, y_shape):
    """Each axis must shrink by a whole factor (a mean over equal bins) or grow by one (each
    output bin is one pixel, repeated: nearest upsampling), as PyTorch's bins then are."""
    (h, w), (oh, ow) = x_shape[2:], y_shape[2:]
    if (h % oh and oh % h) or (w % ow and ow % w):
        raise ValueError(
            f"cannot export layer {name!r} ({type(layer).__name__}): output {oh}x{ow} from "
            f"input {h}x{w}; ONNX export supports an output size that divides the input size "
            f"or is a multiple of it, in each axis (choose input_shape so that it does)"
        )
    kernel = [max(h // oh, 1), max(w // ow, 1)]
    repeat = [max(oh // h, 1), max(ow // w, 1)]
    if kernel != [1, 1] and (oh, ow) == (1, 1):
        g.node("GlobalAveragePool", f"{name}.out")
    elif kernel != [1, 1]:
        g.node("AveragePool", f"{name}.out", kernel_shape=kernel, strides=kernel)
    if repeat != [1, 1]:
        scales = g.constant(f"{name}.scales", [1, 1, *repeat])
        g.node("Resize", f"{name}.repeat", "", scales, mode="nearest", nearest_mode="floor",
               coordinate_transformation_mode="asymmetric")  # fmt: skip


EXPORTERS = {
    layers.Conv2D: _conv,
    layers.ReLU: _relu,
    layers.MaxPool2D: _maxpool,
    layers.LocalResponseNorm: _lrn,
    layers.Dropout: _nothing,
    layers.Flatten: _flatten,
    layers.Linear: _linear,
    layers.AdaptiveAvgPool2D: _adaptive_avgpool,
}


def _exporter(name: str, layer):
    """The export function of ``layer``'s exact class (a subclass may compute something else)."""
    export = EXPORTERS.get(type(layer))
    if export is None:
        supported = ", ".join(cls.__name__ for cls in EXPORTERS)
        raise ValueError(
            f"cannot export layer {name!r} ({type(layer).__name__}): ONNX export supports "
            f"{supported}"
        )
    return export
