"""Masking resolved secret values out of everything a run hands out.

A component receives real secret values (``${secret.api-key}`` renders the key
into its input), but nothing recorded or returned may carry them: events, component
results (inputs, outputs, errors) and row outputs pass through one :class:`Masker`
in the executor, so every surface built on them (traces, the run history, SSE,
websocket, gRPC, pages, error messages) only ever sees ``***`` in their place.

Every occurrence inside any string is replaced, so ``Bearer <key>`` becomes
``Bearer ***`` and a URL or JSON body that embeds the key keeps everything but the
key. The forms a value commonly travels in are masked too: JSON-escaped (a body
that quotes it), URL-quoted (a query string, a form body) and HTML-escaped.

Short values: a value shorter than :data:`MIN_EMBEDDED_LENGTH` characters is masked
only where a whole string equals it. Masking every ``a`` or ``42`` inside other text
would mangle unrelated values and, worse, reveal the secret (the masks would spell
out where it occurs); such a value is not a credential anyway.

Files (bytes) are not scanned: a file's content is data, and rewriting it would
corrupt it.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["MASK", "MIN_EMBEDDED_LENGTH", "Masker", "masker_for"]

#: What a secret value is replaced with.
MASK: Final = "***"

#: Values shorter than this are masked only as whole strings (see the module docstring).
MIN_EMBEDDED_LENGTH: Final = 4


def _forms(value: str) -> set[str]:
    """``value`` and the encodings it commonly travels in."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        html.escape(value),
    }
    forms.discard("")
    return forms


class Masker:
    """Replaces given secret values with :data:`MASK` anywhere inside a value.

    Calling it on a value returns the value with every string (dict keys included,
    at any depth of dicts, lists and tuples) masked. Containers are copied only when
    something inside them changes; a value without secrets comes back as the same
    object. Never mutates its argument.
    """

    __slots__ = ("_pattern", "_prefixes", "_whole")

    def __init__(self, values: Iterable[str]) -> None:
        whole: set[str] = set()
        embedded: set[str] = set()
        for value in values:
            if not isinstance(value, str) or not value:
                continue
            forms = _forms(value)
            whole |= forms
            if len(value) >= MIN_EMBEDDED_LENGTH:
                embedded |= {form for form in forms if len(form) >= MIN_EMBEDDED_LENGTH}
        self._whole = frozenset(whole)
        # Partial snapshots of a streamed output may end in the middle of a secret: the
        # beginnings (at least MIN_EMBEDDED_LENGTH long) such a snapshot could end with.
        self._prefixes = tuple(
            sorted(
                {form[:size] for form in embedded for size in range(MIN_EMBEDDED_LENGTH, len(form))},
                key=len,
                reverse=True,
            )
        )
        # Longest first: a value that contains another is masked as a whole.
        alternatives = sorted(embedded, key=lambda form: (-len(form), form))
        self._pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None

    def text(self, text: str) -> str:
        """``text`` with every secret value (in any of its forms) replaced by ``***``."""
        if text in self._whole:
            return MASK
        if self._pattern is None:
            return text
        masked, count = self._pattern.subn(MASK, text)
        return masked if count else text

    def partial_text(self, text: str) -> str:
        """:meth:`text`, and a secret's beginning at the very end masked too: ``text`` is
        a snapshot of output still growing (a streamed answer), which may stop inside a
        secret. Beginnings shorter than :data:`MIN_EMBEDDED_LENGTH` stay, as in
        :meth:`text`: masking every snapshot ending in ``s`` would flicker a whole answer."""
        text = self.text(text)
        for prefix in self._prefixes:
            if text.endswith(prefix):
                return text[: -len(prefix)] + MASK
        return text

    def partial(self, value: Any) -> Any:
        """:meth:`__call__` for a snapshot of output still growing (see :meth:`partial_text`)."""
        return self(value, partial=True)

    def __call__(self, value: Any, partial: bool = False) -> Any:
        if isinstance(value, str):
            return self.partial_text(value) if partial else self.text(value)
        if isinstance(value, Mapping):
            out: dict[Any, Any] | None = None
            for position, (key, item) in enumerate(value.items()):
                new_key = self.text(key) if isinstance(key, str) else key
                new = self(item, partial)
                if out is None and (new is not item or new_key is not key):
                    out = dict(list(value.items())[:position])
                if out is not None:
                    out[new_key] = new
            if out is None:
                return value
            return out
        if isinstance(value, list):
            items: list[Any] | None = None
            for i, item in enumerate(value):
                new = self(item, partial)
                if new is not item and items is None:
                    items = list(value)
                if items is not None:
                    items[i] = new
            return value if items is None else items
        if isinstance(value, tuple):
            masked = [self(item, partial) for item in value]
            # Changed tuples come back as lists, as to_json renders them anyway.
            return value if all(a is b for a, b in zip(masked, value, strict=True)) else masked
        return value


def masker_for(secrets: Mapping[str, str]) -> Masker | None:
    """The masker of a row's secrets, or None when the row has none (nothing to do)."""
    if not secrets:
        return None
    values = [value for value in secrets.values() if isinstance(value, str) and value]
    return Masker(values) if values else None
