"""A container that runs named layers in order."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .layer import Layer
from .validate import check_state, named_pair


class HookHandle:
    """What ``register_backward_hook`` returns: ``remove()`` unregisters the hook (twice: no-op)."""

    def __init__(self, hooks: dict, key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


class Sequential(Layer):
    """Layers applied in order: ``Sequential([("conv1", Conv2D(3, 8, 3)), ("relu1", ReLU())])``.

    Parameters and state are named ``"<layer>.<key>"`` (``"conv1.weight"``, ``"drop6.rng"``).
    ``model["conv1"]`` returns a layer; iterating yields ``(name, layer)`` pairs. A model builder
    may set ``config``, a JSON-able dict from which ``tinynet.models.from_config`` rebuilds it.
    ``info`` (JSON-able, saved in checkpoints) says how to use the model: ``"input_size"``,
    ``"preprocess"`` (``channels`` "RGB" or "BGR", ``scale`` applied to 0-255 pixels, ``mean``
    and ``std`` per channel in that order and scale, ``resize`` of the shorter side, ``crop``)
    and ``"class_names"``; empty when unknown.

    ``register_backward_hook(fn)`` has ``fn(name, layer)`` called in ``backward`` right after
    each layer's own backward, when that layer's gradients are final (what data-parallel
    training uses to send them while the layers below still compute theirs).
    """

    def __init__(self, layers):
        super().__init__()
        self.layers: OrderedDict[str, Layer] = OrderedDict()
        self.config: dict | None = None
        self.info: dict = {}
        self._hooks: dict[int, object] = {}  # key -> fn(name, layer), in registration order
        self._next_hook = 0
        for item in layers:
            self._place(*named_pair("Sequential", "layer", item, self.layers))
        self._flatten()

    def _place(self, name: str, layer) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential: {name!r} is not a tinynet Layer: {layer!r}")
        layer.name = name
        self.layers[name] = layer

    def _flatten(self) -> None:
        """A flat view of every parameter, so that code written for one layer works on a model."""
        self.params = {n: p for n, p, _ in self.named_parameters()}
        self.grads = {n: g for n, _, g in self.named_parameters()}

    def replace(self, name: str, layer: Layer) -> None:
        """Put ``layer`` in the place of the layer ``name`` (e.g. a new classifier to fine-tune)."""
        if name not in self.layers:
            raise KeyError(f"Sequential: no layer named {name!r}")
        self._place(name, layer)
        self._flatten()

    def __getitem__(self, name: str) -> Layer:
        return self.layers[name]

    def __iter__(self):
        return iter(self.layers.items())

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        body = "\n".join(f"  ({name}): {layer!r}" for name, layer in self.layers.items())
        return f"Sequential(\n{body}\n)"

    def train(self, mode: bool = True) -> Sequential:
        self.training = bool(mode)
        for layer in self.layers.values():
            layer.train(mode)
        return self

    def set_grad_enabled(self, mode: bool = True) -> Sequential:
        self.grad_enabled = bool(mode)
        for layer in self.layers.values():
            layer.set_grad_enabled(mode)
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray):
        """Backpropagate dL/d(output); returns dL/d(input), or None if the first layer skips it.

        After each layer's backward the backward hooks are called with its name and the layer.
        """
        hooks = tuple(self._hooks.values())
        for name, layer in reversed(self.layers.items()):
            dout = layer.backward(dout)
            for hook in hooks:
                hook(name, layer)
            if dout is None:
                break
        return dout

    def register_backward_hook(self, fn) -> HookHandle:
        """Call ``fn(name, layer)`` in every ``backward`` right after that layer's backward,
        layers in reverse order; the layer's ``grads`` are then final for this backward.

        Hooks run in the order they were registered; an exception in one propagates out of
        ``backward``. Returns a handle whose ``remove()`` unregisters ``fn``.
        """
        if not callable(fn):
            raise ValueError(f"Sequential.register_backward_hook: {fn!r} is not callable")
        key, self._next_hook = self._next_hook, self._next_hook + 1
        self._hooks[key] = fn
        return HookHandle(self._hooks, key)

    def named_parameters(self):
        """Yield ``(name, param, grad)`` for every parameter, names like ``"conv1.weight"``."""
        for lname, layer in self.layers.items():
            for pname, param, grad in layer.named_parameters():
                yield f"{lname}.{pname}", param, grad

    def _state(self) -> dict[str, np.ndarray]:
        """Every layer's state, uncopied, in one flat dict (``state_dict()`` copies it)."""
        return {
            f"{lname}.{key}": value
            for lname, layer in self.layers.items()
            for key, value in layer._state().items()
        }

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Load every layer's part of ``state``; checks the whole dict before changing anything."""
        check_state("Sequential", self._state(), state)
        for lname, layer in self.layers.items():
            prefix = lname + "."
            layer.load_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            )

    def summary(self, input_shape) -> str:
        """A table of each layer's output shape and parameters for ``input_shape`` (N, C, H, W).

        Shapes are computed by running a forward pass on zeros of that shape in eval mode.
        """
        x = np.zeros(input_shape, dtype=np.float32)
        header = f"{'layer':<10} {'type':<18} {'output shape':<22} {'params':>12}"
        lines = [header, "-" * len(header)]
        with self.evaluating():
            for name, layer in self.layers.items():
                x = layer.forward(x)
                lines.append(
                    f"{name:<10} {type(layer).__name__:<18} {str(x.shape):<22} "
                    f"{layer.num_parameters():>12,}"
                )
        lines.append("-" * len(header))
        lines.append(f"{'total':<10} {'':<18} {'':<22} {self.num_parameters():>12,}")
        return "\n".join(lines)
