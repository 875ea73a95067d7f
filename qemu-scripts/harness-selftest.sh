#!/usr/bin/env bash
# The harness tests itself (make harness-selftest):
#  1. one guest run in which each kind of evidence the verdict judges is
#     planted (a failing test, a skip no configuration explains, a card
#     error and a DMA sanitizer finding nobody declared, a kernel WARNING
#     from LKDTM, a case asked for that never runs): each must be named;
#  2. the same run's files, damaged the ways a real run can be (a console
#     cut short, no console at all, a card that panicked): each must fail;
#  3. Ctrl-C during a run must leave no QEMU or device process and no socket;
#  4. the edit loop's rebuild (kbuild-replay.sh) must make the module kbuild
#     makes, byte for byte, and leave to kbuild what it cannot replay.
source "$(dirname "$0")/lib.sh"
failures=0
fail() { printf 'harness-selftest: FAIL %s\n' "$*" >&2; failures=$((failures + 1)); }
expect_line() {
    local file=$1 pattern=$2 what=$3
    grep -qE "$pattern" "$file" || fail "$what was not reported (no line matching '$pattern' in $file)"
}

# Both ways a guest starts: booted (RESTORE=0) and restored from the saved
# guest (the default). Each must say which it did, so a restore that quietly
# fell back to a boot cannot pass for the restored path.
for way in booted restored; do
    step "harness self-test 1/6 ($way guest): planted failures must each be named"
    out=$(mktemp)
    set +e
    RESTORE=$([ $way = restored ] && echo 1 || echo 0) SELFTEST=1 "$SCRIPTS_DIR/qemu-test.sh" >"$out" 2>&1
    rc=$?
    set -e
    [ $rc -ne 0 ] || fail "($way) qemu-test exited 0 although failures were planted"
    expect_line "$out" '^FAIL harness_selftest.deliberate_failure' "($way) the deliberately failing test"
    expect_line "$out" '^FAIL harness_selftest.deliberate_unexplained_skip: skipped' "($way) the unexplained skip"
    expect_line "$out" '^FAIL card_errors_declared: .*card 0 error (DMA_STRAY|DMA_UNMAPPED)' "($way) the undeclared card error"
    expect_line "$out" '^FAIL card_sanitizer_clean: .*sanitizer finding' "($way) the undeclared sanitizer finding"
    expect_line "$out" '^FAIL kernel_log_clean: .*WARNING' "($way) the injected kernel WARNING"
    grep -q 'lkdtm' "$out" || fail "($way) the WARNING's excerpt does not show lkdtm"
    expect_line "$out" '^FAIL guest_ran_everything' "($way) the case that never ran"
    expect_line "$out" '^[0-9]+ passed, [1-9][0-9]* failed' "($way) a closing line with failures"
    if [ $way = restored ]; then
        grep -q "restored the saved guest" "$out" || fail "the run did not restore the saved guest (log: $out)"
    else
        grep -q "restored the saved guest" "$out" && fail "RESTORE=0 restored instead of booting (log: $out)"
    fi
    sed -n '/^FAIL/p; /passed, /p' "$out" | sed 's/^/    /' >&2
    rm -f "$out"
done

step "harness self-test 2/6: damaged run files must each fail the verdict"
run=$BUILD_DIR/qemu-test
mapfile -t args <"$run/verdict-args.txt"
damaged=$(mktemp -d)
rejudge() { # NAME PATTERN: judge the copy in $damaged/NAME, expect PATTERN
    local name=$1 pattern=$2 log=$damaged/$1.verdict
    if judge_run "$damaged/$name" "${args[@]}" >"$log" 2>&1; then
        fail "the verdict passed a run with $name"
    else
        expect_line "$log" "$pattern" "$name"
    fi
}
for name in cut-console no-console card-panic; do cp -r "$run" "$damaged/$name"; done
sed -i '/reboot: Power down/,$d' "$damaged/cut-console/console.log"
rm "$damaged/no-console/console.log"
echo "thread 'engine' panicked at device/src/model/engine.rs:1:1: planted by harness-selftest" >>"$damaged/card-panic/device0.log"
rejudge cut-console '^FAIL console_complete'
rejudge no-console '^FAIL console_readable'
rejudge card-panic '^FAIL card_log_clean'
rm -rf "$damaged"

step "harness self-test 3/6: Ctrl-C mid-run leaves nothing behind"
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

step "harness self-test 4/6: a replayed module rebuild is kbuild's, byte for byte"
# A copy of the C example (a module and a userprog, its test), edited as
# a developer would: the replayed rebuild must carry the edit and equal
# kbuild's build of the same sources.
replay_tmp=$(mktemp -d)
cp -r "$REPO_DIR/guest-driver/examples/c-streaming" "$replay_tmp/src"
# (its notes, on stderr, are what is checked; stdout is the output path)
rebuild() { { "$SCRIPTS_DIR/build-module.sh" "$replay_tmp/src" "$replay_tmp/out" >/dev/null; } 2>&1; }
rebuild >/dev/null
echo 'MODULE_INFO(replayed, "1");' >>"$replay_tmp/src/cstream.c"
rebuild | grep -q 'rebuilt by replaying' || fail "an edited module source was not rebuilt by replaying (kbuild-replay.sh)"
grep -aq 'replayed=1' "$replay_tmp/out/cstream.ko" || fail "the replayed rebuild lost the edit (no replayed=1 in cstream.ko)"
cp "$replay_tmp/out/cstream.ko" "$replay_tmp/replayed.ko"
touch "$replay_tmp/src/tests/stream_test.c"
rebuild | grep -q 'rebuilt by replaying' && fail "a changed userprog source was replayed (only kbuild rebuilds userprogs)"
echo '# a changed Kbuild: its rules may differ now' >>"$replay_tmp/src/Kbuild"
touch "$replay_tmp/src/cstream.c"
rebuild | grep -q 'rebuilt by replaying' && fail "a module with a changed Kbuild was replayed (only kbuild reads its rules)"
rm -rf "$replay_tmp/out"   # kbuild from scratch, same sources
rebuild >/dev/null
if cmp -s "$replay_tmp/out/cstream.ko" "$replay_tmp/replayed.ko"; then
    rm -rf "$replay_tmp"
else
    fail "the replayed rebuild's cstream.ko differs from kbuild's (kbuild-replay.sh; both in $replay_tmp)"
fi

step "harness self-test 5/6: a run disk carries every file that differs from the saved guest's"
# A restored guest runs what its disk brings, and the saved guest's own
# copy of every file the disk leaves out: a changed module or test program
# left out would be tested stale. Two initramfs files, one changed since
# the saved guest's: the disk must carry that one, and only that one.
source "$SCRIPTS_DIR/snapshot.sh"
sock_dir=$(mktemp -d)   # run_disk stages there (run-qemu.sh's private directory)
mkdir -p "$sock_dir/saved/bin" "$sock_dir/run/bin"
echo same >"$sock_dir/saved/bin/cardless-same"; echo same >"$sock_dir/run/bin/cardless-same"
echo old >"$sock_dir/saved/bin/cardless-changed"; echo new >"$sock_dir/run/bin/cardless-changed"
for side in saved run; do
    (cd "$sock_dir/$side" && find . | cpio -o -H newc --quiet) >"$sock_dir/$side.cpio"
done
: >"$sock_dir/disk"
run_disk "$sock_dir/run.cpio" "cardless.mode=test" "$sock_dir/disk" "$sock_dir/saved.cpio"
# (GNU cpio stores and lists the names without their leading ./)
listing=$(cpio -it --quiet <"$sock_dir/disk" 2>/dev/null)
grep -qxE '(\./)?bin/cardless-changed' <<<"$listing" || fail "the run disk left out a file that changed since the saved guest (run_disk in snapshot.sh)"
grep -qxE '(\./)?bin/cardless-same' <<<"$listing" && fail "the run disk carries a file the saved guest holds unchanged (run_disk in snapshot.sh)"
rm -rf "$sock_dir"

step "harness self-test 6/6: two runs from one checkout take turns"
# They share build/: the second must wait for the first, or it deletes the
# first's run directory under it and either may judge the other's results.
first=$(mktemp) second=$(mktemp) failures_before=$failures
TESTS=enumeration "$SCRIPTS_DIR/qemu-test.sh" >"$first" 2>&1 &
first_pid=$!
# (the second starts once the first holds the checkout's lock)
for _ in $(seq 100); do flock -n "$BUILD_DIR/.run.lock" true || break; sleep 0.1; done
TESTS=enumeration "$SCRIPTS_DIR/qemu-test.sh" >"$second" 2>&1 || fail "the second of two runs from one checkout failed (log: $second)"
wait "$first_pid" || fail "the first of two runs from one checkout failed (log: $first)"
grep -q 'waiting for another run in this checkout' "$second" ||
    fail "the second run from one checkout did not wait for the first (hold_checkout_lock; log: $second)"
[ $failures -gt $failures_before ] || rm -f "$first" "$second"

if [ $failures -gt 0 ]; then
    echo "harness-selftest: $failures check(s) failed" >&2
    exit 1
fi
echo "harness-selftest: all checks passed" >&2
