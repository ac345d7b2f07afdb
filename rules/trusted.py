"""Build record models from values the engine computed itself, without re-validating them.

pydantic validation of a Decision with its score lines costs more than deciding the lead.
The engine's values already have the declared types (the rules file was validated when it was
loaded), so the compiled path fills the model directly. This is what `model_construct` does,
minus its per-field default handling, which made it slower than validation. External input
still goes through the normal constructors; tests compare both ways field by field.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from connectors.records import Decision, ScoreLine

M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__


def _check_plain(model: type[BaseModel]) -> tuple[str, ...]:
    """The model's field names, after checking it has nothing a direct fill would skip."""
    config = model.model_config
    if model.__private_attributes__ or config.get("extra") == "allow" or config.get("frozen"):
        raise TypeError(f"{model.__name__} needs its constructor")
    if model.__pydantic_post_init__ is not None:
        raise TypeError(f"{model.__name__} has a post-init hook")
    return tuple(model.model_fields)


DECISION_FIELDS = _check_plain(Decision)
SCORE_LINE_FIELDS = _check_plain(ScoreLine)


# pydantic's own slots, set through their descriptors: object.__setattr__ looks each name up first.
set_fields_set, set_extra, set_private = (BaseModel.__dict__[slot].__set__ for slot in (
    "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"))


def trusted(model: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """An instance holding `values` (every field, in declaration order) as they are."""
    obj = model.__new__(model)
    _set(obj, "__dict__", values)
    set_fields_set(obj, fields_set)
    set_extra(obj, None)
    set_private(obj, None)
    return obj
