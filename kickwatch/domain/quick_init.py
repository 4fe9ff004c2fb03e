"""A faster `__init__` for the frozen, slotted dataclasses made once per pushed frame.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__`, which
looks the name up on the type every time; with a dozen fields that is three to seven times the
cost of a plain class's. `quick_init` replaces it with one that calls each slot's own setter
directly: the same parameters, defaults and default factories, still frozen afterwards
(assigning raises `FrozenInstanceError`), and `dataclasses.replace`, equality, `repr` and
hashing unchanged. About twice as fast for the records a burst makes by the ten thousand.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass `cls` the faster `__init__` (see the module)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which quick_init would skip")
    env: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    parameters: list[str] = []
    body: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not field.init or field.kw_only:
            raise TypeError(f"{cls.__name__}.{field.name}: only plain init fields are handled")
        name = field.name
        env[f"_set_{name}"] = cls.__dict__[name].__set__  # the slot's member descriptor
        value = name
        if field.default is not dataclasses.MISSING:
            env[f"_default_{name}"] = field.default
            parameters.append(f"{name}=_default_{name}")
        elif field.default_factory is not dataclasses.MISSING:
            env[f"_factory_{name}"] = field.default_factory
            parameters.append(f"{name}=_MISSING")
            value = f"_factory_{name}() if {name} is _MISSING else {name}"
        else:
            parameters.append(name)
        body.append(f"    _set_{name}(self, {value})\n")
    lines = "".join(body) or "    pass\n"
    source = f"def __init__(self, {', '.join(parameters)}):\n{lines}"
    exec(source, env)
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
