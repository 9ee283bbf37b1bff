"""``pageSize``/``pageToken`` pages, shared by the REST API and gRPC: opaque offset
tokens this server gives out, and a ``pageSize`` clamped to 100 as Instill does.

Numbers are whole numbers from 0 to 2,147,483,647: Instill's fields are int32, and its
gateway refuses what does not fit the same way (400).
"""

from __future__ import annotations

import base64
import binascii

from pipelines.errors import INT32_MAX, InvalidArgument, whole_number

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def page_size(params) -> int:
    raw = params.get("pageSize") or params.get("page_size")
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    size = whole_number(raw, name="pageSize", hint=f" (at most {MAX_PAGE_SIZE} items are returned)")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


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


def token_page(queryset, params) -> tuple[list, str, int]:
    """(items, nextPageToken, totalSize) for ``pageSize``/``pageToken`` lists (of a
    queryset, or of a list)."""
    size = page_size(params)
    token = params.get("pageToken") or params.get("page_token") or ""
    offset = decode_token(token) if token else 0
    total = len(queryset) if isinstance(queryset, list) else queryset.count()
    items = list(queryset[offset : offset + size])
    next_token = encode_token(offset + size) if offset + size < total else ""
    return items, next_token, total
