"""``pageSize``/``pageToken`` (and ``page``) pagination as the contract has it."""

from __future__ import annotations

import base64

from pipelines.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def page_size(params) -> int:
    raw = params.get("pageSize") or params.get("page_size")
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError as exc:
        raise InvalidArgument("pageSize must be a whole number", field="pageSize") from exc
    if size < 0:
        raise InvalidArgument("pageSize must not be negative", field="pageSize")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _decode(token: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(token.encode() + b"==").decode().removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument("pageToken is not a token this server gave out", field="pageToken") from exc


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def token_page(queryset, params) -> tuple[list, str, int]:
    """(items, nextPageToken, totalSize) for ``pageSize``/``pageToken`` lists."""
    size = page_size(params)
    token = params.get("pageToken") or params.get("page_token") or ""
    offset = _decode(token) if token else 0
    total = queryset.count()
    items = list(queryset[offset : offset + size])
    next_token = _encode(offset + size) if offset + size < total else ""
    return items, next_token, total


def numbered_page(queryset, params) -> tuple[list, int, int, int]:
    """(items, totalSize, page, pageSize) for ``page``/``pageSize`` lists (runs)."""
    size = page_size(params)
    raw = params.get("page") or "0"
    try:
        page = int(raw)
    except ValueError as exc:
        raise InvalidArgument("page must be a whole number (0 is the first page)", field="page") from exc
    if page < 0:
        raise InvalidArgument("page must not be negative", field="page")
    total = queryset.count()
    return list(queryset[page * size : (page + 1) * size]), total, page, size
