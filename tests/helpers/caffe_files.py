"""tinynet.interop.caffe: .caffemodel files written here with the schema, in both layouts, read
back and run against an independent forward (PyTorch when installed, NumPy partial checks)."""

from __future__ import annotations

import numpy as np

from tinynet.interop.caffe_schema import V1_TYPES, messages

#: bvlc_alexnet's weight shapes (fc8's rows vary); biases are (out,).
SHAPES = {
    "conv1": (96, 3, 11, 11),
    "conv2": (256, 48, 5, 5),
    "conv3": (384, 256, 3, 3),
    "conv4": (384, 192, 3, 3),
    "conv5": (256, 192, 3, 3),
    "fc6": (4096, 9216),
    "fc7": (4096, 4096),
}


NO_BLOBS = [("data", "DATA", "Data"), ("relu1", "RELU", "ReLU"), ("norm1", "LRN", "LRN")]


def random_weights(num_classes: int, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """He-scaled float32 weights and small biases: activations stay O(1)-O(100), so the LRN
    (k=1, alpha=1e-4) changes them noticeably."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in {**SHAPES, "fc8": (num_classes, 4096)}.items():
        w = rng.standard_normal(shape, dtype=np.float32)
        w *= np.float32(np.sqrt(2.0 / np.prod(shape[1:])))
        out[name] = [w, rng.uniform(-0.1, 0.1, shape[0]).astype(np.float32)]
    return out


def data_blob(array: np.ndarray):
    blob = messages()["BlobProto"]()
    blob.data[:] = array.ravel().tolist()  # much faster than from the array itself
    return blob


def net_bytes(layers, v1: bool, name: str = "CaffeNet") -> bytes:
    """A NetParameter of ``layers`` [(name, [array or BlobProto with data, ...]), ...] in the V1
    layout (num/channels/height/width, 2-d weights as (1, 1, out, in)) or the current one."""
    net = messages()["NetParameter"](name=name)
    for kind, v1_kind, text_kind in NO_BLOBS:
        if v1:
            net.layers.add(name=kind, type=V1_TYPES[v1_kind])
        else:
            net.layer.add(name=kind, type=text_kind)
    for lname, blobs in layers:
        conv = lname.startswith("conv")
        if v1:
            layer = net.layers.add(
                name=lname, type=V1_TYPES["CONVOLUTION" if conv else "INNER_PRODUCT"]
            )
        else:
            layer = net.layer.add(name=lname, type="Convolution" if conv else "InnerProduct")
        for item, shape in blobs:
            blob = layer.blobs.add()
            blob.CopyFrom(item if not isinstance(item, np.ndarray) else data_blob(item))
            if v1:
                blob.num, blob.channels, blob.height, blob.width = (1,) * (4 - len(shape)) + shape
            else:
                blob.shape.dim.extend(shape)
    return net.SerializeToString()


def write(path, weights, v1, name="CaffeNet"):
    layers = [(n, [(a, a.shape) for a in arrays]) for n, arrays in weights.items()]
    path.write_bytes(net_bytes(layers, v1, name))
    return path
