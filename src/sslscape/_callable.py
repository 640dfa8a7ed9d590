"""Let `from sslscape import train, diagnose` give callables without hiding the sub-packages.

DESIGN.md §2 promises `from sslscape import Spec, predict, landscape, train, diagnose`, but `sslscape.train` and
`sslscape.diagnose` are also packages, and Python binds the package over any function of the same name as soon
as a sub-module is imported. Making the package module itself callable keeps both: `sslscape.train(config)`
runs a training, `sslscape.train.loop` is still the module.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any


def make_module_callable(module_name: str, function: Callable[..., Any]) -> None:
    class _CallableModule(types.ModuleType):
        __doc__ = function.__doc__

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

    sys.modules[module_name].__class__ = _CallableModule
