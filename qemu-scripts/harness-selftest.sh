#!/usr/bin/env bash
# The harness tests itself (make harness-selftest):
#  1. a deliberately failing guest test and a deliberately injected kernel
#     WARNING (LKDTM) must each turn `make qemu-test` red, by name;
#  2. Ctrl-C during a run must leave no QEMU or device process and no socket.
source "$(dirname "$0")/lib.sh"
failures=0
fail() { printf 'harness-selftest: FAIL %s\n' "$*" >&2; failures=$((failures + 1)); }

# Both ways a guest starts: restored from the saved guest (the default) and
# booted (RESTORE=0). Each must say which it did, so a restore that quietly
# fell back to a boot cannot pass for the restored path.
for way in restored booted; do
    step "harness self-test 1/2 ($way guest): a failing test and a kernel WARNING must fail the run"
    out=$(mktemp)
    set +e
    RESTORE=$([ $way = restored ] && echo 1 || echo 0) SELFTEST=1 "$SCRIPTS_DIR/qemu-test.sh" >"$out" 2>&1
    rc=$?
    set -e
    [ $rc -ne 0 ] || fail "($way) qemu-test exited 0 although a test failed on purpose"
    grep -q '^FAIL harness_selftest.deliberate_failure' "$out" || fail "($way) the deliberately failing test was not named in the verdict"
    grep -q '^FAIL kernel_log_clean' "$out" && grep -q 'lkdtm' "$out" ||
        fail "($way) the injected kernel WARNING (lkdtm) was not reported"
    grep -qE '^[0-9]+ passed, [1-9][0-9]* failed' "$out" || fail "($way) no 'N passed, N failed' line with failures"
    if [ $way = restored ]; then
        grep -q "restored the saved guest" "$out" || fail "the run did not restore the saved guest (log: $out)"
    else
        grep -q "restored the saved guest" "$out" && fail "RESTORE=0 restored instead of booting (log: $out)"
    fi
    sed -n '/^FAIL/p; /passed, /p' "$out" | sed 's/^/    /' >&2
    rm -f "$out"
done

step "harness self-test 2/2: Ctrl-C mid-run leaves nothing behind"
private_tmp=$(mktemp -d)
log=$(mktemp)
TMPDIR=$private_tmp setsid "$SCRIPTS_DIR/qemu-test.sh" >"$log" 2>&1 &
leader=$!
# Wait until the guest is booting (QEMU and the device processes exist).
for _ in $(seq 600); do
    pgrep -f "$private_tmp/cardless" >/dev/null && pgrep -f "qemu-system-x86_64.*$private_tmp" >/dev/null && break
    sleep 0.1
done
pgrep -f "qemu-system-x86_64.*$private_tmp" >/dev/null || fail "the run never started QEMU (log: $log)"
sleep 1
kill -INT -- -"$leader" 2>/dev/null || true   # what a terminal's Ctrl-C does: the whole group
for _ in $(seq 100); do kill -0 "$leader" 2>/dev/null || break; sleep 0.1; done
kill -0 "$leader" 2>/dev/null && fail "qemu-test.sh still running 10 s after Ctrl-C"
sleep 0.5
left=$(pgrep -af "$private_tmp" || true)
[ -z "$left" ] || fail "processes left after Ctrl-C: $left"
[ -z "$(ls -A "$private_tmp")" ] || fail "files left in the socket directory after Ctrl-C: $(ls -A "$private_tmp")"
rm -rf "$private_tmp" "$log"

if [ $failures -gt 0 ]; then
    echo "harness-selftest: $failures check(s) failed" >&2
    exit 1
fi
echo "harness-selftest: all checks passed" >&2
