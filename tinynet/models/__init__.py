"""Model builders."""
from .alexnet import MIN_INPUT_SIZE, alexnet, alexnet_from_config

__all__ = ["alexnet", "alexnet_from_config", "MIN_INPUT_SIZE"]
