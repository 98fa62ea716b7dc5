"""Model builders, and rebuilding a model (or only its parameter shapes) from its ``config``."""

from __future__ import annotations

import inspect

from .alexnet import INITS, MIN_INPUT_SIZE, alexnet, alexnet_param_shapes
from .torchvision_alexnet import alexnet_torchvision, alexnet_torchvision_param_shapes

#: Builders by name; a model's ``config["builder"]`` names one, the rest are its arguments.
BUILDERS = {"alexnet": alexnet, "alexnet_torchvision": alexnet_torchvision}
#: For each builder, the shapes of the parameters it builds, by name, in order, computed
#: without allocating them: the same arguments as the builder, all required.
PARAM_SHAPES = {
    "alexnet": alexnet_param_shapes,
    "alexnet_torchvision": alexnet_torchvision_param_shapes,
}


def from_config(config: dict):
    """Rebuild the model that ``BUILDERS[config["builder"]](**rest)`` built (``model.config``)."""
    name, arguments = _arguments(config)
    return BUILDERS[name](**arguments)


def param_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """``{"conv1.weight": (96, 3, 11, 11), ...}``: the name and shape of every parameter of the
    model ``from_config(config)`` would build, in its order, computed without building it
    (nothing is allocated, so any width is cheap). The same ValueError as ``from_config`` for
    a config it cannot build: not a dict, no or an unknown builder, an unknown argument, a bad
    value."""
    name, arguments = _arguments(config)
    if name not in PARAM_SHAPES:
        raise ValueError(f"param_shapes: builder {name!r} has no entry in PARAM_SHAPES")
    return PARAM_SHAPES[name](**arguments)


def _arguments(config) -> tuple[str, dict]:
    """The builder's name and all its arguments (defaults filled in) for ``config``."""
    if not isinstance(config, dict) or not config:
        raise ValueError(f"from_config: expected a model config dict, got {config!r}")
    kwargs = dict(config)
    if "builder" not in kwargs:
        keys = sorted(map(str, kwargs))
        raise ValueError(
            f"from_config: the config has no 'builder' key naming its builder (one of "
            f"{sorted(BUILDERS)}); its keys: {keys}"
        )
    name = kwargs.pop("builder")
    if not isinstance(name, str) or name not in BUILDERS:
        raise ValueError(f"from_config: unknown builder {name!r}; known: {sorted(BUILDERS)}")
    try:
        bound = inspect.signature(BUILDERS[name]).bind(**kwargs)
    except TypeError as err:  # an unknown argument
        keys = sorted(map(str, kwargs))
        raise ValueError(f"from_config: {name}() cannot take {keys}: {err}") from None
    bound.apply_defaults()
    return name, bound.arguments


__all__ = [
    "alexnet", "alexnet_torchvision", "from_config", "param_shapes", "BUILDERS", "PARAM_SHAPES",
    "INITS", "MIN_INPUT_SIZE",
]  # fmt: skip
