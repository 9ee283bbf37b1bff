"""A data dir of its own for each pytest-xdist worker (``pytest -n N -p tests.xdist_workers``).

scripts/test.sh runs the suite on several workers (processes). Each must have its own
PIPELINE_DATA_DIR: the test database, the collected static files, the run files and the
secret key live there, and two workers writing one of them would trip each other up.
Django reads PIPELINE_DATA_DIR when its settings are imported, which pytest-django does
before any conftest runs; a plugin named with ``-p`` is imported earlier still, so this
module moves the worker to ``$PIPELINE_DATA_DIR/<worker id>`` (gw0, gw1, ...) on import.
"""

from __future__ import annotations

import os
from pathlib import Path

WORKER = os.environ.get("PYTEST_XDIST_WORKER")
LOADED = "PIPELINE_XDIST_DATA_DIR"

if WORKER and LOADED not in os.environ:
    base = Path(os.environ.get("PIPELINE_DATA_DIR") or Path(__file__).resolve().parents[1] / "data")
    data_dir = base / WORKER
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PIPELINE_DATA_DIR"] = str(data_dir)
    # Marks the worker as moved (tests/conftest.py checks it), and keeps a second import
    # from moving it again.
    os.environ[LOADED] = str(data_dir)
