"""Exception raised for a dataset that cannot be used as laid out."""

__all__ = ["DatasetError"]


class DatasetError(ValueError):
    """A data folder is missing or wrongly laid out; the message says how to fix it."""
