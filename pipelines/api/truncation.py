"""Large values cut short in lists (runs, component runs), so a page of runs stays small.

A string longer than ``PIPELINE_LIST_VALUE_CHARS`` is replaced by its beginning and a
marker — still a string, so every schema that allowed the value allows the cut one::

    "Once upon a time…" + "…[truncated: 1048576 characters; full value: /v1beta/…/runs/<uid>]"

A data URI keeps only its header (``data:image/png;base64,``): a slice of base64 is of
no use. The marker names the URL that answers the whole value; lists also give it all
with ``?view=VIEW_FULL``. Single-run answers and file downloads are never cut.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

MARKER = "…[truncated: {length} characters; full value: {url}]"
KEPT_CHARS = 128
FULL_VIEW = "VIEW_FULL"


def full_view(params) -> bool:
    """Whether a list request asked for whole values (``?view=VIEW_FULL``)."""
    return params.get("view") == FULL_VIEW


def truncated(value: Any, *, url: str) -> Any:
    """``value`` with every string over the list budget cut, naming ``url`` for the whole."""
    limit = settings.PIPELINE_LIST_VALUE_CHARS

    def cut(item: Any) -> Any:
        if isinstance(item, str):
            if len(item) <= limit:
                return item
            if item.startswith("data:") and "," in item[:256]:
                kept = item[: item.index(",") + 1]
            else:
                kept = item[: min(KEPT_CHARS, limit)]
            return kept + MARKER.format(length=len(item), url=url)
        if isinstance(item, dict):
            return {key: cut(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [cut(inner) for inner in item]
        return item

    return cut(value)
