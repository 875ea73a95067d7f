#!/usr/bin/env bash
# Mutation testing of the card's model (issue 12 item 4): cargo-mutants
# changes device/src/model and device/src/fault one small edit at a time
# (scope, test targets and the mutants known to be equivalent are in
# .cargo/mutants.toml), runs the device crate's tests against each, and
# this prints the score. A mutant that makes the tests hang counts as
# detected. It fails if a mutant survived: kill it with a test,
# or, if it cannot change what the card does, add it to exclude_re in
# .cargo/mutants.toml and say why in device/MUTANTS.md.
#
#   MUTANTS_ARGS='...'    more cargo-mutants options, for example
#                         "--file device/src/model/engine.rs" (one file),
#                         "--iterate" (skip mutants caught by the last run),
#                         "-j 2" (on an idle machine)
#   MUTANTS_OUT=DIR       where the report goes (default build/card-mutants;
#                         DIR/mutants.out/{caught,missed,timeout,unviable}.txt)
#   CARGO_MUTANTS_VERSION version to install when missing (default 27.1.0)
#
# Slow: about a thousand mutants, each an incremental build and a test run
# (hours on two shared cores; it runs at low priority). Installs
# cargo-mutants with `cargo install` when missing (a few minutes, once).
source "$(dirname "$0")/lib.sh"

CARGO_MUTANTS_VERSION=${CARGO_MUTANTS_VERSION:-27.1.0}
MUTANTS_OUT=${MUTANTS_OUT:-$BUILD_DIR/card-mutants}
read -r -a extra <<<"${MUTANTS_ARGS:-}"

if ! cargo mutants --version >/dev/null 2>&1; then
    step "installing cargo-mutants $CARGO_MUTANTS_VERSION (cargo install, a few minutes, once)"
    run_logged "$BUILD_DIR/card-mutants-install.log" \
        nice -n 10 cargo install cargo-mutants --locked --version "$CARGO_MUTANTS_VERSION"
fi

cd "$REPO_DIR" || die "cannot enter $REPO_DIR"
step "cargo mutants over the card model ($(cargo mutants --list "${extra[@]}" | wc -l) mutants; report in $MUTANTS_OUT)"
mkdir -p "$MUTANTS_OUT"
status=0
# No debug info: each mutant links its test binaries faster.
CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0 \
    nice -n 15 cargo mutants --output "$MUTANTS_OUT" "${extra[@]}" || status=$?

out=$MUTANTS_OUT/mutants.out
count() { if [ -f "$out/$1.txt" ]; then grep -c . "$out/$1.txt" || true; else echo 0; fi; }
caught=$(count caught)
missed=$(count missed)
timeout=$(count timeout)
unviable=$(count unviable)
viable=$((caught + missed + timeout))
[ "$viable" -gt 0 ] || die "cargo mutants tested nothing (exit status $status); see $out/debug.log"
step "score: $caught caught, $missed missed, $unviable unviable, $timeout timeout: $((100 * (caught + timeout) / viable))% of the viable mutants detected"
previous=$(count previously_caught)
[ "$previous" -eq 0 ] || note "(--iterate: $previous mutants caught or unviable in the previous run were not run again)"
if [ "$missed" -gt 0 ]; then
    note "survivors (kill each with a test, or list it as equivalent in .cargo/mutants.toml and device/MUTANTS.md):"
    sed 's/^/      /' "$out/missed.txt" >&2
fi
# 2: mutants survived; 3: some made the tests hang (counted as detected).
case $status in
    0 | 2 | 3) ;;
    *) die "cargo mutants failed (exit status $status); see $out/debug.log" ;;
esac
[ "$missed" -eq 0 ] || die "$missed mutants survived; see above"
