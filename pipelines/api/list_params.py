"""The query parameters every list documents in the OpenAPI schema: its pages
(:mod:`pipelines.paging`) and its ``filter`` (:mod:`pipelines.filtering`)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

PAGE = [
    OpenApiParameter("pageSize", OpenApiTypes.INT, description="default 10, at most 100"),
    OpenApiParameter("pageToken", OpenApiTypes.STR, description="the nextPageToken of the page before"),
    OpenApiParameter("page", OpenApiTypes.INT, description="instead of pageToken: the page number, from 0"),
]


def listed(fields: str, example: str) -> list[OpenApiParameter]:
    """The page parameters and an AIP-160 ``filter`` over ``fields``."""
    return [
        *PAGE,
        OpenApiParameter(
            "filter",
            OpenApiTypes.STR,
            description=f"AIP-160 expression (AND, OR, NOT, parentheses, = != < <= > >= :) over {fields}; "
            f"e.g. {example}",
        ),
    ]
