"""The few messages of Caffe's ``caffe.proto`` that hold a network's weights, built at run time.

No ``protoc`` and no generated ``_pb2`` file: the messages are described here with the field
numbers of caffe.proto (proto2) and turned into classes in a private descriptor pool, so a real
``caffe_pb2`` imported elsewhere does not clash. Every other field of a ``.caffemodel`` (layer
parameters, phases, learning rates...) is unknown to this schema and skipped when parsing.

- ``NetParameter``: ``name`` 1, ``layers`` 2 (V1LayerParameter, the 2014 layout), ``layer`` 100
  (LayerParameter, the current one).
- ``LayerParameter``: ``name`` 1, ``type`` 2 (a string, "Convolution"), ``blobs`` 7.
- ``V1LayerParameter``: ``name`` 4, ``type`` 5 (the LayerType enum, read as an int: see
  ``V1_TYPES``), ``blobs`` 6.
- ``BlobProto``: ``num`` 1, ``channels`` 2, ``height`` 3, ``width`` 4 (the V1 4-d shape),
  ``data`` 5 (packed float), ``shape`` 7 (BlobShape), ``double_data`` 8 (packed double).
- ``BlobShape``: ``dim`` 1 (packed int64).
"""

from __future__ import annotations

import functools

PACKAGE = "caffe"

#: V1LayerParameter.LayerType numbers of the layers an AlexNet holds (the rest are not needed).
V1_TYPES = {
    "ACCURACY": 1,
    "CONVOLUTION": 4,
    "DATA": 5,
    "DROPOUT": 6,
    "INNER_PRODUCT": 14,
    "LRN": 15,
    "POOLING": 17,
    "RELU": 18,
    "SOFTMAX": 20,
    "SOFTMAX_LOSS": 21,
}

# message -> (field name, number, type, label, message type or None, packed)
_OPTIONAL, _REPEATED = "LABEL_OPTIONAL", "LABEL_REPEATED"
MESSAGES = {
    "BlobShape": [("dim", 1, "TYPE_INT64", _REPEATED, None, True)],
    "BlobProto": [
        ("num", 1, "TYPE_INT32", _OPTIONAL, None, False),
        ("channels", 2, "TYPE_INT32", _OPTIONAL, None, False),
        ("height", 3, "TYPE_INT32", _OPTIONAL, None, False),
        ("width", 4, "TYPE_INT32", _OPTIONAL, None, False),
        ("data", 5, "TYPE_FLOAT", _REPEATED, None, True),
        ("shape", 7, "TYPE_MESSAGE", _OPTIONAL, "BlobShape", False),
        ("double_data", 8, "TYPE_DOUBLE", _REPEATED, None, True),
    ],
    "LayerParameter": [
        ("name", 1, "TYPE_STRING", _OPTIONAL, None, False),
        ("type", 2, "TYPE_STRING", _OPTIONAL, None, False),
        ("blobs", 7, "TYPE_MESSAGE", _REPEATED, "BlobProto", False),
    ],
    "V1LayerParameter": [
        ("name", 4, "TYPE_STRING", _OPTIONAL, None, False),
        ("type", 5, "TYPE_INT32", _OPTIONAL, None, False),  # an enum on the wire: a varint
        ("blobs", 6, "TYPE_MESSAGE", _REPEATED, "BlobProto", False),
    ],
    "NetParameter": [
        ("name", 1, "TYPE_STRING", _OPTIONAL, None, False),
        ("layers", 2, "TYPE_MESSAGE", _REPEATED, "V1LayerParameter", False),
        ("layer", 100, "TYPE_MESSAGE", _REPEATED, "LayerParameter", False),
    ],
}


def _file_descriptor(descriptor_pb2):
    """The ``FileDescriptorProto`` of ``MESSAGES`` (proto2, package ``caffe``)."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name="tinynet_caffe_weights.proto", package=PACKAGE, syntax="proto2"
    )
    field_proto = descriptor_pb2.FieldDescriptorProto
    for message, fields in MESSAGES.items():
        msg = fdp.message_type.add(name=message)
        for name, number, kind, label, type_name, packed in fields:
            field = msg.field.add(
                name=name,
                number=number,
                type=field_proto.Type.Value(kind),
                label=field_proto.Label.Value(label),
            )
            if type_name:
                field.type_name = f".{PACKAGE}.{type_name}"
            if packed:
                field.options.packed = True
    return fdp


@functools.lru_cache(maxsize=1)
def messages() -> dict[str, type]:
    """``{"NetParameter": class, "BlobProto": class, ...}``, built once.

    ImportError (one line, how to install it) without the protobuf package.
    """
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError:
        raise ImportError(
            "reading a .caffemodel needs the protobuf package: pip install protobuf "
            '(or pip install -e ".[interop]")'
        ) from None
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file_descriptor(descriptor_pb2))
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
        for name in MESSAGES
    }
