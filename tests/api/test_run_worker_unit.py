"""What crosses the socket between serve and a run worker (pipelines/run_worker.py)."""

from __future__ import annotations

import pickle

import pytest

from pipelines.engine import File
from pipelines.errors import InvalidArgument, NotFound, RecipeInvalidError, ServiceError, Unavailable
from pipelines.run_worker import _plain


@pytest.mark.parametrize(
    "error",
    [
        InvalidArgument('variable "prompt" is required', field="variable.prompt"),
        NotFound("pipeline gone"),
        Unavailable("try again"),
        RecipeInvalidError(
            [{"location": "component.a.type", "error": "unknown type"}, {"location": "output", "error": "x"}]
        ),
    ],
)
def test_errors_cross_as_they_are(error: ServiceError):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert (again.message, again.field, again.details, again.code, again.http_status) == (
        error.message,
        error.field,
        error.details,
        error.code,
        error.http_status,
    )
    assert str(again) == str(error)


def test_only_plain_json_inputs_are_handed_over():
    assert _plain({"prompt": "hi", "n": [1, 2.5, None, True, {"deep": ["x"]}]})
    assert not _plain({"doc": File(b"abc", mime_type="text/plain")})
    assert not _plain({"docs": [File(b"abc", mime_type="text/plain")]})
