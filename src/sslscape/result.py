"""One way every result serialises: frozen dataclasses with `to_dict()` → a JSON-safe dict (numpy arrays and
scalars become lists and numbers, tuples become lists, nested results become dicts) and `to_json()` → a str."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from .io import json_default


class Result:
    """Mixin for frozen-dataclass results. Override `to_dict` (calling `Result.to_dict(self)`) to add or drop keys."""

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=json_default))  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())
