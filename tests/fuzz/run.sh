#!/bin/bash
# Builds every libFuzzer target tests/fuzz/fuzz_<name>.c against all project
# sources (src/**/*.c except src/main.c) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each for FUZZ_SECONDS (default 15).
#
#   BUILD_DIR=/path/to/configured/build tests/fuzz/run.sh [name...]
#
# BUILD_DIR must hold the config.h of a configured build (tests/ci.sh passes
# its own); without it a temporary directory is configured. A target counts
# as one test. The last line reads "fuzz: N passed, N failed"; the exit code
# is 1 when any target failed to build or found a crash.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
CC=${FUZZ_CC:-clang}
WORK=$(mktemp -d /tmp/idgate-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0

if [ -z "${BUILD_DIR:-}" ] || [ ! -f "$BUILD_DIR/config.h" ]; then
    BUILD_DIR="$WORK/build"
    mkdir -p "$BUILD_DIR"
    if ! (cd "$BUILD_DIR" && "$ROOT/configure" -q >/dev/null); then
        echo "fuzz: configure failed"
        echo "fuzz: 0 passed, 1 failed"
        exit 1
    fi
fi

PKGS="libevent libevent_pthreads libevent_openssl evhtp openssl yajl libcurl cjose jansson lmdb"
CFLAGS_DEPS=$(pkg-config --cflags $PKGS 2>/dev/null)
LIBS_DEPS="$(pkg-config --libs $PKGS 2>/dev/null) -levhtp -lunistring -pthread -lm"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=gnu11 -g -O1 $SAN -I$ROOT/src -I$BUILD_DIR $CFLAGS_DEPS -pthread"

# Compile the project once, without main.c, into an archive.
mkdir -p "$WORK/obj"
objs=()
build_ok=1
while IFS= read -r src; do
    rel=${src#"$ROOT"/}
    obj="$WORK/obj/$(echo "$rel" | tr '/' '_').o"
    if ! $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj" 2>"$WORK/cc.err"; then
        echo "fuzz: cannot compile $rel"
        head -20 "$WORK/cc.err"
        build_ok=0
        continue
    fi
    objs+=("$obj")
done < <(find "$ROOT/src" -name '*.c' ! -path "$ROOT/src/main.c" | sort)

if [ "$build_ok" != 1 ]; then
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi
ar rcs "$WORK/libidgate_fuzz.a" "${objs[@]}"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
        [ -e "$f" ] || continue
        name=$(basename "$f" .c)
        targets+=("${name#fuzz_}")
    done
fi

for name in "${targets[@]}"; do
    src="$ROOT/tests/fuzz/fuzz_$name.c"
    bin="$WORK/fuzz_$name"
    corpus="$WORK/corpus_$name"
    mkdir -p "$corpus"
    if [ -d "$ROOT/tests/fuzz/corpus/$name" ]; then
        cp -r "$ROOT/tests/fuzz/corpus/$name/." "$corpus/"
    fi
    # The project's json_* functions share names with jansson's. Hiding the
    # archive's symbols keeps cjose bound to jansson, as in src/idgate. Only
    # that archive: with ALL, the sanitizer runtime's malloc is hidden too,
    # and shared libraries that allocate (libunistring) would use glibc's.
    if ! $CC $CFLAGS -fsanitize=fuzzer "$src" "$WORK/libidgate_fuzz.a" $LIBS_DEPS \
        -Wl,--exclude-libs,libidgate_fuzz.a -o "$bin" 2>"$WORK/link.err"; then
        echo "fuzz $name: FAILED to build"
        head -20 "$WORK/link.err"
        failed=$((failed + 1))
        continue
    fi
    # Leaks are reported by LeakSanitizer and count as failures too.
    if "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$WORK/" "$corpus" >"$WORK/$name.log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$WORK/$name.log" | tail -1)
        echo "fuzz $name: ok (${runs:-no run count})"
        passed=$((passed + 1))
    else
        echo "fuzz $name: FAILED"
        grep -A 30 -m1 'ERROR\|runtime error\|deadly signal' "$WORK/$name.log" | head -40
        for a in "$WORK"/crash-* "$WORK"/leak-* "$WORK"/timeout-* "$WORK"/oom-*; do
            [ -e "$a" ] || continue
            echo "fuzz $name: input that failed (base64): $(base64 -w0 "$a" | head -c 2000)"
            rm -f "$a"
        done
        failed=$((failed + 1))
    fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
