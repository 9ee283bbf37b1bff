#!/usr/bin/env bash
# Run the whole test suite (or what "$@" selects) with .venv's pytest.
#
# Tests get a fresh PIPELINE_DATA_DIR (removed afterwards) so they never touch ./data,
# and write artifacts (JUnit XML, screenshots, server logs) to test-output/.
# pytest's "no tests collected" (exit 5) counts as a failure: we always have tests.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON_VENV:-$ROOT/.venv}/bin/python
if [[ ! -x $PY ]]; then
    echo "test.sh: $PY not found; run 'make test' (or 'make install-test') first." >&2
    exit 1
fi

data_dir=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-test-data.XXXXXX")
trap 'rm -rf "$data_dir"' EXIT
export PIPELINE_DATA_DIR=$data_dir
export PIPELINE_TEST_OUTPUT=${PIPELINE_TEST_OUTPUT:-$ROOT/test-output}
mkdir -p "$PIPELINE_TEST_OUTPUT"

# Style and type checks (`make lint`) first, only for a whole-suite run: a failed check
# fails the run, but the tests still run so one run shows everything.
failed_checks=()
if (( $# == 0 )); then
    "$PY" -m ruff format --check . || failed_checks+=("ruff format --check (fix: make format)")
    "$PY" -m ruff check . || failed_checks+=("ruff check (make format fixes many)")
    "$PY" -m mypy || failed_checks+=("mypy")
fi

"$PY" -m pytest --junitxml="$PIPELINE_TEST_OUTPUT/junit.xml" "$@"
status=$?
if (( status == 5 )); then
    echo "test.sh: pytest collected no tests; that is a failure here." >&2
    status=1
fi

# The other ASGI server: serve runs on uvicorn by default (PIPELINE_SERVER); the
# streaming, HTTP-limit and HTTP-layer tests and the console's browser tests of live
# runs over the websocket run again on daphne, which stays supported. Only for a
# whole-suite run.
if (( $# == 0 )); then
    PIPELINE_SERVER=daphne "$PY" -m pytest --junitxml="$PIPELINE_TEST_OUTPUT/junit-daphne.xml" \
        tests/e2e/test_streaming.py tests/e2e/test_run_events.py tests/e2e/test_http_limits.py \
        tests/e2e/test_serve_http_layer.py tests/e2e/browser/test_pages_browser.py
    daphne_status=$?
    (( status == 0 )) && status=$daphne_status
fi

# The scale-out flavour: the trigger/async/release/cancel tests again on PostgreSQL +
# Redis + real Celery workers, which tests/scale/run.py starts (and stops) itself.
# Only for a whole-suite run; `make test` or `scripts/test.sh` with no arguments.
if (( $# == 0 )); then
    "$PY" tests/scale/run.py --junitxml="$PIPELINE_TEST_OUTPUT/junit-scale.xml"
    scale_status=$?
    (( status == 0 )) && status=$scale_status
fi
if (( ${#failed_checks[@]} )); then
    printf 'test.sh: failed check: %s\n' "${failed_checks[@]}" >&2
    (( status == 0 )) && status=1
fi
exit "$status"
