"""User-facing errors: raised at the edges (specs, configs, files, CLI) and printed as one line with exit 2."""

from __future__ import annotations

import difflib
from typing import Any


class UserError(Exception):
    """Bad input from the user. The message names what was wrong and how to fix it."""


class FieldError(ValueError):
    """Raised by a model-level validator (one that sees several fields) to name the field at fault: pydantic would
    report the model itself ("spec field 'spec'"); `format_validation_error` names `field` (dotted, relative to the
    validated model, e.g. 'augmentation.noise_cov') instead."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _fields(model: Any, loc: tuple) -> list[str]:
    """The field names allowed at `loc` (the parent of the offending key) in a pydantic model."""
    node = model
    for part in loc[:-1]:
        fields = getattr(node, "model_fields", {})
        if part not in fields:
            return []
        ann = fields[part].annotation
        node = next((a for a in getattr(ann, "__args__", (ann,)) if hasattr(a, "model_fields")), None)
        if node is None:
            return []
    return list(getattr(node, "model_fields", {}))


def format_validation_error(err: Any, what: str, model: Any, docs: str) -> str:
    """One line from a pydantic ValidationError: the first offending field, what to do, the nearest valid key on
    a typo, and the document that lists every field."""
    first = err.errors()[0]
    loc = tuple(first["loc"])
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):  # a model-level validator named the field at fault
        loc = (*loc, *cause.field.split("."))
    name = ".".join(str(p) for p in loc)
    kind, msg = first["type"], " ".join(first["msg"].removeprefix("Value error, ").split())
    if kind == "extra_forbidden":
        allowed = _fields(model, loc)
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {'.'.join([*map(str, loc[:-1]), near[0]])!r}? " if near else ""
        return f"unknown key {name!r} in {what}; {hint}remove it (every field: {docs})"
    if kind == "missing":
        return f"{what} field {name!r} is missing; add it (see {docs})"
    if not name:  # a check across fields that names them in its message
        return f"{what}: {msg} (see {docs})"
    return f"{what} field {name!r}: {msg} (see {docs})"
