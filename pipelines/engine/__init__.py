"""The recipe engine: pure Python, no Django.

Parse once (:func:`parse_recipe` → frozen :class:`Recipe`), bind trigger rows
(:meth:`Recipe.bind_rows`), then :func:`execute` them, receiving
:mod:`~pipelines.engine.events` as they happen and a :class:`RunResult` at the end.
"""

from .components import ComponentDefinition, ComponentError, Registry, Task, TaskContext
from .conditions import Condition, ConditionError, ConditionSyntaxError, parse_condition
from .events import (
    ComponentErrorUpdated,
    ComponentEvent,
    ComponentInputUpdated,
    ComponentOutputUpdated,
    ComponentStatusUpdated,
    Event,
    PipelineErrorUpdated,
    PipelineOutputUpdated,
    PipelineStatusUpdated,
)
from .executor import RunCancelled, execute
from .inputs import InputInvalid, bind_rows
from .recipe import (
    Component,
    IteratorSpec,
    Output,
    Problem,
    Recipe,
    RecipeInvalid,
    RecipeLimits,
    Variable,
    parse_recipe,
    validate_recipe,
)
from .references import Reference, ReferenceSyntaxError, ReferenceUnresolved, parse_reference
from .results import ComponentResult, RowResult, RunResult
from .values import ATTRIBUTES, File, json_bytes, register_attribute, to_json

__all__ = [
    "ATTRIBUTES",
    "Component",
    "ComponentDefinition",
    "ComponentError",
    "ComponentErrorUpdated",
    "ComponentEvent",
    "ComponentInputUpdated",
    "ComponentOutputUpdated",
    "ComponentResult",
    "ComponentStatusUpdated",
    "Condition",
    "ConditionError",
    "ConditionSyntaxError",
    "Event",
    "File",
    "InputInvalid",
    "IteratorSpec",
    "Output",
    "PipelineErrorUpdated",
    "PipelineOutputUpdated",
    "PipelineStatusUpdated",
    "Problem",
    "Recipe",
    "RecipeInvalid",
    "RecipeLimits",
    "Reference",
    "ReferenceSyntaxError",
    "ReferenceUnresolved",
    "Registry",
    "RowResult",
    "RunCancelled",
    "RunResult",
    "Task",
    "TaskContext",
    "Variable",
    "bind_rows",
    "execute",
    "json_bytes",
    "parse_condition",
    "parse_recipe",
    "parse_reference",
    "register_attribute",
    "to_json",
    "validate_recipe",
]
