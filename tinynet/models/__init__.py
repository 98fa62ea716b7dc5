"""Model builders, and rebuilding a model (or only its parameter shapes) from its ``config``."""

from __future__ import annotations

import inspect

from .alexnet import MIN_INPUT_SIZE, LayerSpec, alexnet
from .alexnet import plan as alexnet_plan
from .torchvision_alexnet import alexnet_torchvision
from .torchvision_alexnet import plan as alexnet_torchvision_plan

#: Builders by name; a model's ``config["builder"]`` names one, the rest are its arguments.
BUILDERS = {"alexnet": alexnet, "alexnet_torchvision": alexnet_torchvision}
#: For each builder, its plan: the same arguments, all required, -> a list of ``LayerSpec``.
PLANS = {"alexnet": alexnet_plan, "alexnet_torchvision": alexnet_torchvision_plan}


def from_config(config: dict):
    """Rebuild the model that ``BUILDERS[config["builder"]](**rest)`` built (``model.config``).

    A config without ``"builder"`` (checkpoints written before it was recorded) is AlexNet's.
    """
    name, arguments = _arguments(config)
    return BUILDERS[name](**arguments)


def param_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """``{"conv1.weight": (96, 3, 11, 11), ...}``: the name and shape of every parameter of the
    model ``from_config(config)`` would build, in its order, computed without building it
    (nothing is allocated, so any width is cheap). The same ValueError as ``from_config`` for
    a config it cannot build: not a dict, an unknown builder or argument, a bad value."""
    name, arguments = _arguments(config)
    if name not in PLANS:
        raise ValueError(f"param_shapes: builder {name!r} has no plan in tinynet.models.PLANS")
    return {
        f"{spec.name}.{key}": shape
        for spec in PLANS[name](**arguments)
        for key, shape in spec.shapes.items()
    }


def _arguments(config) -> tuple[str, dict]:
    """The builder's name and all its arguments (defaults filled in) for ``config``."""
    if not isinstance(config, dict) or not config:
        raise ValueError(f"from_config: expected a model config dict, got {config!r}")
    kwargs = dict(config)
    name = kwargs.pop("builder", "alexnet")
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
    "alexnet", "alexnet_torchvision", "from_config", "param_shapes", "BUILDERS", "PLANS",
    "LayerSpec", "MIN_INPUT_SIZE",
]  # fmt: skip
