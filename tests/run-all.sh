#!/bin/bash
# Runs every test and prints one total: the Check unit tests through
# `make check`, the Node.js tests against the built daemon (the
# *.test.mjs files of tests/integration, tests/oidc and tests/console, one
# phase per folder), and the fuzz targets (tests/fuzz/run.sh, FUZZ_SECONDS
# each, default 15). Each phase prints how long it took.
#
#   tests/run-all.sh [build-dir]      (default: $BUILD_DIR, else ./build)
#
# The build directory is configured when it has no Makefile. A unit test
# counts each Check test case; a test program that crashes or has no Check
# summary counts as one failure. The last line is "N passed, N failed" and
# the exit code is 1 when anything failed.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${BUILD_DIR:-$ROOT/build}}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

passed=0
failed=0

count() {
    passed=$((passed + $1))
    failed=$((failed + $2))
    echo "== $3: $1 passed, $2 failed"
}

run_unit() {
    local p=0 f=0 trs log line checks failures errors result
    if [ ! -f "$BUILD/Makefile" ]; then
        (cd "$BUILD" && "$ROOT/configure" -q) || { count 0 1 "configure"; return; }
    fi
    if ! make -C "$BUILD" -j"$JOBS" >"$BUILD/build.log" 2>&1; then
        tail -40 "$BUILD/build.log"
        count 0 1 "build"
        return
    fi
    make -C "$BUILD" -j"$JOBS" check >"$BUILD/check.log" 2>&1
    while IFS= read -r trs; do
        log=${trs%.trs}.log
        result=$(sed -n 's/^:test-result: //p' "$trs" | head -1)
        line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" 2>/dev/null | tail -1)
        if [ -n "$line" ]; then
            checks=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
            failures=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
            errors=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
            p=$((p + checks - failures - errors))
            f=$((f + failures + errors))
            if [ "$result" = FAIL ] && [ $((failures + errors)) -eq 0 ]; then
                f=$((f + 1))  # the program failed after its checks passed
            fi
        elif [ "$result" = PASS ] || [ "$result" = SKIP ] || [ "$result" = XFAIL ]; then
            p=$((p + 1))
        else
            f=$((f + 1))
        fi
        if [ "$result" != PASS ] && [ "$result" != SKIP ]; then
            echo "-- ${log#"$BUILD"/}:"
            grep -E ':[EF]:|Checks:|runtime error|ERROR' "$log" | head -20
        fi
    done < <(find "$BUILD" -name '*.trs' | sort)
    count "$p" "$f" "unit tests (make check)"
}

# Runs the *.test.mjs files of tests/<folder> with node's test runner; the
# TAP output goes to <build>/<folder>.log.
run_node_tests() {
    local folder=$1 out p f c files
    mapfile -t files < <(find "$ROOT/tests/$folder" -name '*.test.mjs' -not -path '*/node_modules/*' | sort)
    if [ ${#files[@]} -eq 0 ]; then
        count 0 0 "$folder tests"
        return
    fi
    out=$(cd "$ROOT/tests" && IDGATE_BIN="$BUILD/src/idgate" \
        node --test --test-reporter=tap "${files[@]}" 2>&1)
    echo "$out" >"$BUILD/$folder.log"
    echo "$out" | grep -E '^\s*not ok' | head -40
    p=$(echo "$out" | sed -n 's/^# pass \([0-9]*\)$/\1/p' | tail -1)
    f=$(echo "$out" | sed -n 's/^# fail \([0-9]*\)$/\1/p' | tail -1)
    c=$(echo "$out" | sed -n 's/^# cancelled \([0-9]*\)$/\1/p' | tail -1)
    if [ -z "$p" ]; then
        echo "$out" | tail -20
        count 0 1 "$folder tests (no TAP summary)"
        return
    fi
    count "${p:-0}" $(( ${f:-0} + ${c:-0} )) "$folder tests"
}

run_fuzz() {
    local out line p f
    out=$(BUILD_DIR="$BUILD" bash "$ROOT/tests/fuzz/run.sh" 2>&1)
    echo "$out" | grep -v '^fuzz: [0-9]* passed' | tail -30
    line=$(echo "$out" | grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' | tail -1)
    if [ -z "$line" ]; then
        count 0 1 "fuzz targets (no summary)"
        return
    fi
    p=$(echo "$line" | sed -E 's/^fuzz: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    count "$p" "$f" "fuzz targets"
}

# Runs a phase and prints its wall time.
timed() {
    local start=$SECONDS
    "$@"
    echo "== time: $(( SECONDS - start )) s for $*"
}

suite_start=$SECONDS
timed run_unit
timed run_node_tests integration
timed run_node_tests oidc
timed run_node_tests console
timed run_fuzz
echo "== time: $(( SECONDS - suite_start )) s in all"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
