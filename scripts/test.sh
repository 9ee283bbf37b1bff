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

# Style and type checks (`make lint`), only for a whole-suite run: beside the tests (they
# use one core, the tests wait on servers much of the time), reported after them. A
# failed check fails the run, but the tests still run so one run shows everything.
checks_dir=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-test-checks.XXXXXX")
trap 'rm -rf "$data_dir" "$checks_dir"' EXIT
checks_log=$checks_dir/checks.log
checks_pid=
if (( $# == 0 )); then
    (
        failed=()
        "$PY" -m ruff format --check . || failed+=("ruff format --check (fix: make format)")
        "$PY" -m ruff check . || failed+=("ruff check (make format fixes many)")
        "$PY" -m mypy || failed+=("mypy")
        (( ${#failed[@]} )) && printf '%s\n' "${failed[@]}" > "$checks_dir/failed-checks"
        exit 0
    ) > "$checks_log" 2>&1 &
    checks_pid=$!
fi

main_args=()
# The other ASGI server: serve runs on uvicorn by default (PIPELINE_SERVER); the
# streaming, HTTP-limit and HTTP-layer tests and the console's browser tests of live
# runs over the websocket run again on daphne, which stays supported — beside the
# scale-out flavour: the trigger/async/release/cancel tests again on PostgreSQL + Redis +
# real Celery workers, which tests/scale/run.py starts (and stops) itself. Only for a
# whole-suite run (`make test`, or `scripts/test.sh` with no arguments), and beside the
# main pass from its start: the tests wait on servers much of the time, so the passes
# share the cores instead of queueing. Each has a data dir of its own, the daphne pass
# its own folder of server logs and screenshots (test-output/daphne/); their output is
# printed after the main pass's.
if (( $# == 0 )); then
    scale_dir=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-test-scale.XXXXXX")
    daphne_dir=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-test-daphne.XXXXXX")
    trap 'rm -rf "$data_dir" "$checks_dir" "$scale_dir" "$daphne_dir"' EXIT
    scale_log=$checks_dir/scale.log
    PIPELINE_DATA_DIR=$scale_dir "$PY" tests/scale/run.py --junitxml="$PIPELINE_TEST_OUTPUT/junit-scale.xml" \
        > "$scale_log" 2>&1 &
    scale_pid=$!
    daphne_log=$checks_dir/daphne.log
    PIPELINE_DATA_DIR=$daphne_dir PIPELINE_SERVER=daphne PIPELINE_TEST_OUTPUT=$PIPELINE_TEST_OUTPUT/daphne \
        "$PY" -m pytest --junitxml="$PIPELINE_TEST_OUTPUT/junit-daphne.xml" \
        tests/e2e/test_streaming.py tests/e2e/test_run_events.py tests/e2e/test_http_limits.py \
        tests/e2e/test_serve_http_layer.py tests/e2e/browser/test_pages_browser.py \
        > "$daphne_log" 2>&1 &
    daphne_pid=$!
    # The API fuzzer's module: schemathesis makes one item per API operation, all with
    # the same node id, and pytest-xdist, which tells items apart by node id, would run
    # only the first of each (tests/e2e/conftest.py skips them on a worker). So it runs
    # in one process of its own, beside the others.
    fuzz_dir=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-test-fuzz.XXXXXX")
    trap 'rm -rf "$data_dir" "$checks_dir" "$scale_dir" "$daphne_dir" "$fuzz_dir"' EXIT
    fuzz_log=$checks_dir/fuzz.log
    PIPELINE_DATA_DIR=$fuzz_dir "$PY" -m pytest --junitxml="$PIPELINE_TEST_OUTPUT/junit-fuzz.xml" \
        tests/e2e/test_openapi_fuzz.py > "$fuzz_log" 2>&1 &
    fuzz_pid=$!
    main_args=(--ignore=tests/e2e/test_openapi_fuzz.py)
fi

# The main pass on several pytest-xdist workers (processes): PIPELINE_TEST_WORKERS of
# them for a whole-suite run (default 2, as many as the cores of the machine the suite
# is sized for: with the passes and checks beside it, more cost more CPU than they save
# waiting; docs/development.md has the figures), none for `scripts/test.sh <paths>`
# unless it is set. Each test module stays on one worker (--dist loadscope), so a
# module's servers start once; tests/xdist_workers.py gives each worker a data dir.
workers=${PIPELINE_TEST_WORKERS:-}
if [[ -z $workers ]] && (( $# == 0 )); then
    workers=2
fi
xdist=(-p tests.xdist_workers)
if [[ -n $workers && $workers != 0 ]]; then
    # In collection order (not largest module first): the browser tests must come last
    # on a worker (see tests/e2e/browser/conftest.py), and they are collected last.
    xdist+=(-n "$workers" --dist loadscope --no-loadscope-reorder)
fi
"$PY" -m pytest "${xdist[@]}" --junitxml="$PIPELINE_TEST_OUTPUT/junit.xml" "${main_args[@]}" "$@"
status=$?
if (( status == 5 )); then
    echo "test.sh: pytest collected no tests; that is a failure here." >&2
    status=1
fi

if (( $# == 0 )); then
    wait "$fuzz_pid"
    fuzz_status=$?
    echo "--- the API fuzzer (tests/e2e/test_openapi_fuzz.py, in a process of its own):"
    cat "$fuzz_log"
    (( status == 0 )) && status=$fuzz_status
    wait "$scale_pid"
    scale_status=$?
    echo "--- the scale-out flavour (PostgreSQL + Redis + Celery workers, tests/scale/run.py):"
    cat "$scale_log"
    (( status == 0 )) && status=$scale_status
    wait "$daphne_pid"
    daphne_status=$?
    echo "--- the same transport and websocket tests on daphne (PIPELINE_SERVER=daphne):"
    cat "$daphne_log"
    (( status == 0 )) && status=$daphne_status
fi

failed_checks=()
if [[ -n $checks_pid ]]; then
    wait "$checks_pid"
    echo "--- style and type checks (make lint):"
    cat "$checks_log"
    [[ -f $checks_dir/failed-checks ]] && mapfile -t failed_checks < "$checks_dir/failed-checks"
fi
if (( ${#failed_checks[@]} )); then
    printf 'test.sh: failed check: %s\n' "${failed_checks[@]}" >&2
    (( status == 0 )) && status=1
fi
exit "$status"
