#!/usr/bin/env bash
# Fuzzes the device for a bounded time: each cargo-fuzz target of
# device/fuzz runs FUZZ_SECONDS, starting from the seeds checked into
# device/fuzz/corpus/<target>/ plus what earlier runs found (kept, untracked,
# in device/fuzz/target/corpus/<target>/). Prints the executions per target
# and fails if a target crashed, hung or leaked (the reproducer's path is
# printed; replay it with `cargo +nightly fuzz run -a <target> <file>` in
# device/fuzz).
#
#   FUZZ_SECONDS=60          time per target (libFuzzer -max_total_time)
#   FUZZ_TARGETS="a b"       targets to run (default: all of them)
#   FUZZ_TIMEOUT=10          seconds one input may take before it counts as a hang
#   CARGO_FUZZ_VERSION       cargo-fuzz to install when missing (default 0.13.2)
#
# Needs the nightly toolchain (rustup's `nightly`); installs cargo-fuzz with
# `cargo install` (once, ~2 min on two cores; cached in ~/.cargo/bin).
source "$(dirname "$0")/lib.sh"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
CARGO_FUZZ_VERSION=${CARGO_FUZZ_VERSION:-0.13.2}
FUZZ_DIR=$REPO_DIR/device/fuzz
LOG_DIR=$BUILD_DIR/fuzz
ALL_TARGETS="guest_state client_bytes"
FUZZ_TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}

case $FUZZ_SECONDS in '' | *[!0-9]*) die "FUZZ_SECONDS must be a whole number of seconds (got '$FUZZ_SECONDS')" ;; esac
[ "$FUZZ_SECONDS" -gt 0 ] || die "FUZZ_SECONDS must be at least 1"
rustup run nightly rustc --version >/dev/null 2>&1 ||
    die "cargo fuzz needs the nightly toolchain (rustup toolchain install nightly)"
mkdir -p "$LOG_DIR"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    step "installing cargo-fuzz $CARGO_FUZZ_VERSION (once; compiles for 1-2 min)"
    run_logged "$LOG_DIR/install-cargo-fuzz.log" \
        cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet
fi

step "building the fuzz targets (nightly, ASan, debug assertions)"
cd "$FUZZ_DIR"
run_logged "$LOG_DIR/build.log" cargo +nightly fuzz build --debug-assertions

# Units (files) in a corpus directory, as `ls DIR | wc -l` counts them.
units() { find "$1" -mindepth 1 -maxdepth 1 ! -name '.*' | wc -l; }

# Executions a libFuzzer log reports: the final stats line, else the last
# "#N ... DONE" line, else the last "#N" status line.
executions() {
    local log=$1 n
    n=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    [ -n "$n" ] || n=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -n 1)
    [ -n "$n" ] || n=$(sed -n 's/^#\([0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)
    echo "${n:-0}"
}

failed=()
summary=()
for target in $FUZZ_TARGETS; do
    case " $ALL_TARGETS " in *" $target "*) ;; *) die "no fuzz target '$target' (have: $ALL_TARGETS)" ;; esac
    seeds=$FUZZ_DIR/corpus/$target
    work=$FUZZ_DIR/target/corpus/$target
    artifacts=$FUZZ_DIR/artifacts/$target
    log=$LOG_DIR/$target.log
    mkdir -p "$work" "$artifacts"
    step "fuzzing $target for $FUZZ_SECONDS s ($(units "$seeds") seeds, $(units "$work") units from earlier runs)"
    status=0
    cargo +nightly fuzz run --debug-assertions "$target" "$work" "$seeds" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" \
        -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
    runs=$(executions "$log")
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    rate=""
    [ -n "$secs" ] && [ "$secs" -gt 0 ] && rate=", $((runs / secs))/s"
    if [ "$status" -eq 0 ]; then
        note "$target: $runs executions${rate}, corpus now $(units "$work") units (log: $log)"
        summary+=("$target: $runs executions")
    else
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        # The panic (its message is on the next line), sanitizer or timeout report.
        grep -A1 -E "panicked at|^==[0-9]+==ERROR|ALARM: working on the last Unit" "$log" |
            grep -v '^--$' | head -n 8 >&2 || true
        note "$target: FAILED after $runs executions (exit $status; log: $log)"
        note "reproducer: ${artifact:-none written (see the log)}"
        summary+=("$target: $runs executions, FAILED (${artifact:-see $log})")
        failed+=("$target")
    fi
done

step "fuzz summary"
for line in "${summary[@]}"; do note "$line"; done
[ ${#failed[@]} -eq 0 ] || die "fuzzing found a problem in: ${failed[*]}"
