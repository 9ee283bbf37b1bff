"""``pageSize``/``pageToken`` (and ``page``) pagination as the contract has it.

Numbers in query parameters are whole numbers from 0 to 2,147,483,647: Instill's
fields are int32, and its gateway refuses what does not fit the same way (400). A
``pageSize`` over 100 is clamped to 100, as Instill does.
"""

from __future__ import annotations

from pipelines.errors import INT32_MAX, InvalidArgument, whole_number
from pipelines.paging import decode_token, encode_token, page_size, token_page
from pipelines.services.component_catalog import page_bounds

__all__ = ["catalog_page", "numbered_page", "page_size", "token_page"]


def numbered_page(queryset, params) -> tuple[list, int, int, int]:
    """(items, totalSize, page, pageSize) for ``page``/``pageSize`` lists (runs)."""
    size = page_size(params)
    page = whole_number(params.get("page") or "0", name="page", hint=" (0 is the first page)")
    total = queryset.count()
    return list(queryset[page * size : (page + 1) * size]), total, page, size


def _lenient_int32(params, name: str) -> int:
    """An int32 parameter where Instill takes a negative value as "unset"
    (component definitions' ``page`` and ``pageSize``); 0 when absent."""
    raw = params.get(name)
    if raw in (None, ""):
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a whole number", field=name) from None
    if not -INT32_MAX - 1 <= value <= INT32_MAX:
        raise InvalidArgument(f"{name} must fit in 32 bits", field=name)
    return value


def catalog_page(items: list, params) -> tuple[list, int, int, int, str]:
    """(items, totalSize, page, pageSize, nextPageToken) for Instill's component
    definitions: numbered pages (:func:`~pipelines.services.component_catalog.page_bounds`),
    or ``pageToken`` like every other list."""
    offset, page, size = page_bounds(_lenient_int32(params, "page"), _lenient_int32(params, "pageSize"))
    token = params.get("pageToken") or ""
    if token:
        offset = decode_token(token)
        page = offset // size
    total = len(items)
    next_token = encode_token(offset + size) if offset + size < total else ""
    return items[offset : offset + size], total, page, size, next_token
