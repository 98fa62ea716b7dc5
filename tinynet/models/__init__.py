"""Model builders, and rebuilding a model from the ``config`` it carries."""

from .alexnet import MIN_INPUT_SIZE, alexnet

#: Builders by name; a model's ``config["builder"]`` names one, the rest are its arguments.
BUILDERS = {"alexnet": alexnet}


def from_config(config: dict):
    """Rebuild the model that ``BUILDERS[config["builder"]](**rest)`` built (``model.config``).

    A config without ``"builder"`` (checkpoints written before it was recorded) is AlexNet's.
    """
    if not isinstance(config, dict) or not config:
        raise ValueError(f"from_config: expected a model config dict, got {config!r}")
    kwargs = dict(config)
    name = kwargs.pop("builder", "alexnet")
    if name not in BUILDERS:
        raise ValueError(f"from_config: unknown builder {name!r}; known: {sorted(BUILDERS)}")
    try:
        return BUILDERS[name](**kwargs)
    except TypeError as err:  # an unknown or missing argument
        raise ValueError(f"from_config: {name}() cannot take {sorted(kwargs)}: {err}") from None


__all__ = ["alexnet", "from_config", "BUILDERS", "MIN_INPUT_SIZE"]
