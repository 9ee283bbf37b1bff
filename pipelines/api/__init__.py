"""The REST API: Django REST framework views under /v1beta/.

DRF's ``rest_framework.compat`` imports Markdown and Pygments whenever they are installed,
for its browsable API's rendering of docstrings and code, and requests, for its test
client. This API renders JSON only and its tests use Django's client; Markdown is
installed for the pages' own filter, which imports it when a page renders one. Importing
``compat`` here, before any API module, with the three hidden makes DRF run as it does
without them, and keeps them (~70 ms of imports) out of serve's start-up.
"""

from __future__ import annotations

import importlib
import sys


def _import_without(module: str, packages: tuple[str, ...]) -> None:
    """Import ``module`` as if ``packages`` (optional imports of it) were not installed;
    afterwards they import normally for everyone else."""
    if module in sys.modules:
        return
    hidden = [name for name in packages if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # None: not importable
    try:
        importlib.import_module(module)
    finally:
        for name in hidden:
            if sys.modules.get(name, "") is None:
                del sys.modules[name]


_import_without("rest_framework.compat", ("markdown", "pygments", "requests"))
