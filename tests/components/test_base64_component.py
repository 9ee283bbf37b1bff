"""The base64 component: encode and decode."""

from __future__ import annotations

import io

import pytest

from pipelines.components.base64 import COMPONENT
from pipelines.engine.components import ComponentError


async def test_encode_then_decode_round_trips_text(run):
    """TASK_ENCODE encodes UTF-8 text; TASK_DECODE gives it back."""
    encoded = await run(COMPONENT, "TASK_ENCODE", {"data": "héllo wörld"})
    assert encoded == {"data": "aMOpbGxvIHfDtnJsZA=="}
    assert await run(COMPONENT, "TASK_DECODE", encoded) == {"data": "héllo wörld"}


async def test_encode_reads_file_like_values(run):
    """A value with read() (a File) is encoded from its bytes."""
    out = await run(COMPONENT, "TASK_ENCODE", {"data": io.BytesIO(b"\x00\x01binary")})
    assert out == {"data": "AAFiaW5hcnk="}


async def test_decode_accepts_data_uris_and_missing_padding(run):
    """TASK_DECODE drops a data-URI header and tolerates missing padding and line breaks."""
    assert await run(COMPONENT, "TASK_DECODE", {"data": "data:text/plain;base64,aGVsbG8="}) == {"data": "hello"}
    assert await run(COMPONENT, "TASK_DECODE", {"data": "aGVs\nbG8"}) == {"data": "hello"}


async def test_decode_invalid_base64_fails(run):
    """Characters outside the base64 alphabet are a component error."""
    with pytest.raises(ComponentError, match="Couldn't decode"):
        await run(COMPONENT, "TASK_DECODE", {"data": "not base64!!"})


async def test_decode_binary_result_fails_clearly(run):
    """Decoded bytes that are not UTF-8 text are reported, not garbled."""
    with pytest.raises(ComponentError, match="not UTF-8"):
        await run(COMPONENT, "TASK_DECODE", {"data": "/w=="})


async def test_encode_rejects_non_string_values(run):
    """Encoding a number is a component error."""
    with pytest.raises(ComponentError, match="Cannot base64-encode"):
        await run(COMPONENT, "TASK_ENCODE", {"data": 12})
