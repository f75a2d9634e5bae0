"""The error types a user sees: plain-words messages about their data or the models, never a traceback."""
from __future__ import annotations

__all__ = ["DataError", "ModelError"]


class DataError(ValueError):
    """Bad input described for a person: what is wrong, which column, an example row, what was expected."""

    def __init__(self, message: str, *, column: str | None = None, example: dict | None = None,
                 expected: str | None = None):
        self.column = column
        self.example = example
        self.expected = expected
        parts = [message]
        if column:
            parts.append(f"Column: '{column}'.")
        if example:
            shown = ", ".join(f"{k}={v!r}" for k, v in list(example.items())[:8])
            parts.append(f"Example row: {shown}.")
        if expected:
            parts.append(f"Expected: {expected}")
        super().__init__(" ".join(parts))


class ModelError(ValueError):
    """A model could not be fitted on this data; the message says why in plain words."""
