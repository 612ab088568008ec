#!/usr/bin/env bash
# Fuzzes gatepass-core with cargo-fuzz (libFuzzer), one target after another, each for a
# bounded time, and prints one summary line per target.
#
#   bash scripts/fuzz.sh [seconds-per-target]          (default 180)
#   FUZZ_TARGETS="jwks token_verify" bash scripts/fuzz.sh 60
#
# Needs the nightly toolchain (rustup toolchain install nightly); installs cargo-fuzz if it is
# missing. Seeds are rebuilt from the test vectors (fuzz/make_seeds.py -> fuzz/seeds/<target>/);
# the working corpus grows in fuzz/corpus/<target>/, crash reproducers land in
# fuzz/artifacts/<target>/ and libFuzzer's output in fuzz/logs/<target>.log (all gitignored).
# A reproducer is replayed with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
# and the fixed ones kept in fuzz/regressions/<target>/ with
#   cargo +nightly fuzz run <target> fuzz/regressions/<target>/*
#
# Exits non-zero if any target crashed (panic, failed property, timeout, out of memory) or
# could not be run.
set -euo pipefail

cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${1:-180}"
ALL_TARGETS="token_verify token_request basic_header client_assertion jwks config_server config_filter host_edge etcd_answers"
TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"
# A single input slower than this (seconds) is reported as a timeout crash.
UNIT_TIMEOUT="${FUZZ_UNIT_TIMEOUT:-30}"

if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -eq 0 ]; then
    echo "usage: $0 [seconds-per-target]" >&2
    exit 2
fi
for t in $TARGETS; do
    case " $ALL_TARGETS " in
        *" $t "*) ;;
        *) echo "fuzz.sh: unknown target '$t' (targets: $ALL_TARGETS)" >&2; exit 2 ;;
    esac
done

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz.sh: the nightly toolchain is required: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

python3 fuzz/make_seeds.py >/dev/null

mkdir -p fuzz/logs
# Built once up front, so the timed runs below measure fuzzing only.
echo "fuzz.sh: building the fuzz targets (log: fuzz/logs/build.log)" >&2
if ! cargo +nightly fuzz build >fuzz/logs/build.log 2>&1; then
    tail -n 30 fuzz/logs/build.log >&2
    echo "fuzz.sh: the fuzz targets do not build" >&2
    exit 2
fi

summary=()
failed=0
for t in $TARGETS; do
    corpus="fuzz/corpus/$t"
    artifacts="fuzz/artifacts/$t"
    log="fuzz/logs/$t.log"
    mkdir -p "$corpus" "$artifacts"
    marker="$(mktemp)"
    echo "fuzz.sh: $t for ${SECONDS_PER_TARGET}s (log: $log)" >&2
    rc=0
    cargo +nightly fuzz run "$t" "$corpus" "fuzz/seeds/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout="$UNIT_TIMEOUT" \
        -print_final_stats=1 >"$log" 2>&1 || rc=$?

    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || true)"
    if [ -z "$execs" ]; then
        # Killed before the final stats (crash): libFuzzer's last "#N" line.
        execs="$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#' || true)"
    fi
    status_line="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)"
    cov="$(grep -o 'cov: [0-9]*' <<<"$status_line" | grep -o '[0-9]*' || true)"
    ft="$(grep -o 'ft: [0-9]*' <<<"$status_line" | grep -o '[0-9]*' || true)"
    corp="$(grep -o 'corp: [0-9]*' <<<"$status_line" | grep -o '[0-9]*' || true)"
    corpus_files="$(find "$corpus" -type f | wc -l)"
    # Findings of this run: crash-, leak-, timeout-, oom- files (slow-unit- are informational).
    found="$(find "$artifacts" -type f -newer "$marker" ! -name 'slow-unit-*' | sort)"
    crashes="$(grep -c . <<<"$found" || true)"
    rm -f "$marker"

    result="ok"
    if [ "$crashes" -gt 0 ]; then
        result="CRASH"
        failed=1
    elif [ "$rc" -ne 0 ]; then
        result="FAILED (exit $rc, see $log)"
        failed=1
    fi
    summary+=("$(printf '%-17s %12s %7s %8s %8s %8s %8s  %s' "$t" "${execs:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$corpus_files" "$crashes" "$result")")
    if [ "$crashes" -gt 0 ]; then
        sed "s/^/fuzz.sh: $t reproducer: /" <<<"$found" >&2
    fi
done

echo
printf '%-17s %12s %7s %8s %8s %8s %8s  %s\n' target executions cov ft corp files crashes result
for line in "${summary[@]}"; do
    echo "$line"
done
echo "(${SECONDS_PER_TARGET}s per target; cov/ft/corp from libFuzzer's last status line;" \
    "files = fuzz/corpus/<target>; crashes = new files in fuzz/artifacts/<target>)"
exit "$failed"
