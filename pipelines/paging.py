"""Pages of every list, shared by the REST API and gRPC, in both of Instill's forms.

A list is read a page at a time, either by token (``pageToken``, the ``nextPageToken``
of the page before, as most of Instill's lists) or by number (``page``, from 0, as
Instill's runs and component definitions); both give the same pages. ``pageSize`` is
10 by default and at most 100 (larger sizes are clamped, as Instill does). Every
answer carries ``nextPageToken`` ("" on the last page) and ``totalSize``.

Tokens are opaque to clients: an offset this server encodes. Numbers are whole
numbers from 0 to 2,147,483,647: Instill's fields are int32, and its gateway refuses
what does not fit the same way (400). The component catalog is lenient as Instill's
is there: a negative ``page`` is the first, a negative ``pageSize`` the default.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.errors import INT32_MAX, InvalidArgument, whole_number

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """One page: its items, the size of the whole list, its number and size, and the
    token of the next page ("" when it is the last)."""

    items: list
    total: int
    page: int
    size: int
    next_token: str

    def fields(self) -> dict[str, Any]:
        """What every list answer carries about its page, in Instill's names."""
        return {"nextPageToken": self.next_token, "totalSize": self.total}


def _param(params: Mapping[str, Any], name: str, snake: str) -> str:
    value = params.get(name)
    if value in (None, ""):
        value = params.get(snake)
    return "" if value is None else str(value)


def _lenient_int32(raw: str, name: str) -> int:
    """An int32 where Instill takes a negative value as "unset"; 0 when absent."""
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a whole number", field=name) from None
    if not -INT32_MAX - 1 <= value <= INT32_MAX:
        raise InvalidArgument(f"{name} must fit in 32 bits", field=name)
    return max(value, 0)


def page_size(params: Mapping[str, Any], *, lenient: bool = False) -> int:
    raw = _param(params, "pageSize", "page_size")
    if raw == "":
        return DEFAULT_PAGE_SIZE
    if lenient:
        size = _lenient_int32(raw, "pageSize")
    else:
        size = whole_number(raw, name="pageSize", hint=f" (at most {MAX_PAGE_SIZE} items are returned)")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_number(params: Mapping[str, Any], *, lenient: bool = False) -> int:
    raw = _param(params, "page", "page")
    if raw == "":
        return 0
    if lenient:
        return _lenient_int32(raw, "page")
    return whole_number(raw, name="page", hint=" (0 is the first page)")


def decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode() + b"==").decode()
        if not text.startswith("offset:"):
            raise ValueError(text)
        offset = int(text.removeprefix("offset:"))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidArgument("pageToken is not a token this server gave out", field="pageToken") from exc
    if not 0 <= offset <= INT32_MAX:
        raise InvalidArgument("pageToken is not a token this server gave out", field="pageToken")
    return offset


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def paginate(source, params: Mapping[str, Any], *, lenient: bool = False) -> Page:
    """The page of ``source`` (a queryset or a list) that ``params`` ask for:
    ``pageToken`` when given, else ``page``; ``pageSize`` items at most."""
    size = page_size(params, lenient=lenient)
    token = _param(params, "pageToken", "page_token")
    if token:
        offset = decode_token(token)
        page = offset // size
    else:
        page = page_number(params, lenient=lenient)
        offset = page * size
    total = len(source) if isinstance(source, list) else source.count()
    items = list(source[offset : offset + size]) if offset < total else []
    next_token = encode_token(offset + size) if offset + size < total else ""
    return Page(items=items, total=total, page=page, size=size, next_token=next_token)
