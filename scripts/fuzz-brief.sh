#!/usr/bin/env bash
# One fuzz target for a short, bounded time on the STABLE toolchain (what `scripts/test.sh`
# runs; the long runs on nightly are `scripts/fuzz.sh`):
#
#   bash scripts/fuzz-brief.sh [target] [seconds]      (default: host_edge 30)
#
# libFuzzer comes from the libfuzzer-sys crate; coverage instrumentation is the same LLVM
# SanitizerCoverage cargo-fuzz enables, through stable codegen flags (no address sanitizer:
# the code under test is safe Rust, a panic is what we look for). The build goes to
# fuzz/target/stable, the corpus grows in fuzz/corpus/<target> from fuzz/seeds/<target>, and a
# crash leaves its reproducer in fuzz/artifacts/<target>/ and fails this script.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET="${1:-host_edge}"
SECONDS_TO_RUN="${2:-30}"
HOST="$(rustc -vV | sed -n 's/^host: //p')"

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"

python3 fuzz/make_seeds.py --out fuzz/target/seeds >/dev/null
# --target keeps RUSTFLAGS off build scripts and proc macros.
cargo build --quiet --release --manifest-path fuzz/Cargo.toml --bin "$TARGET" \
    --target "$HOST" --target-dir fuzz/target/stable

mkdir -p "fuzz/corpus/$TARGET" "fuzz/artifacts/$TARGET" fuzz/logs
log="fuzz/logs/$TARGET.brief.log"
rc=0
"fuzz/target/stable/$HOST/release/$TARGET" "fuzz/corpus/$TARGET" "fuzz/target/seeds/$TARGET" \
    -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$TARGET/" >"$log" 2>&1 || rc=$?
execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
cov="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 | grep -o 'cov: [0-9]*' || echo 'cov: ?')"
if ((rc != 0)); then
    tail -n 40 "$log" >&2
    echo "fuzz-brief.sh: $TARGET FAILED (exit $rc) after $execs runs; reproducer in fuzz/artifacts/$TARGET/" >&2
    exit 1
fi
echo "fuzz-brief.sh: $TARGET ok: $execs runs in ${SECONDS_TO_RUN}s, $cov, no crash"
