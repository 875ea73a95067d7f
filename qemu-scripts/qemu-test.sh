#!/usr/bin/env bash
# make qemu-test: build what is stale, boot the guest with the card(s), run
# the driver's suite, and judge it: every failed test by name, every kernel
# report (WARNING, BUG, Oops, KASAN, lockdep, ...) in the console log, and a
# closing line "N passed, N failed". Exits non-zero on any failure.
#
#   TESTS="suite ..."  run only the suites whose names contain these words
#   M=DIR              test the out-of-tree module in DIR instead (C or Rust;
#                      runs DIR/tests/run, or TEST='...'; guest-module.sh)
#   SELFTEST=1  run the harness's own must-fail checks instead (used by
#               harness-selftest.sh; the verdict must then be red)
source "$(dirname "$0")/lib.sh"

"$SCRIPTS_DIR/build.sh"
source "$BUILD_DIR/paths.env"

run_dir=$BUILD_DIR/qemu-test
rm -rf "$run_dir"; mkdir -p "$run_dir"
cards=${CARDS:-2}
# Run options travel as files in a second cpio appended to the initramfs.
initrd=$run_dir/initramfs.cpio
extra=$(mktemp -d); mkdir -p "$extra/etc"
module_dir=$("$SCRIPTS_DIR/guest-module.sh" "$extra")
[ "${SELFTEST:-0}" = 1 ] && touch "$extra/etc/cardless-selftest"
[ -n "${TESTS:-}" ] && printf '%s\n' "$TESTS" >"$extra/etc/cardless-filter"
# With two cards the host plays its part of the card_death suite (below).
card_death=0
[ "$cards" -ge 2 ] && [ "${SELFTEST:-0}" != 1 ] && [ "$module_dir" = "$REPO_DIR/guest-driver/module" ] && card_death=1
# What the host does: QMP device_del of card 1, then SIGKILL of card 0's
# server behind its link. QEMU 11.1 aborts when it finalizes an unplugged
# vfio-user device that has MSI-X (its PBA subregion is deleted after the
# BAR holding it: memory_region_del_subregion assertion), so card 1 runs
# with --no-msix (MSI and INTx only: the suite covers that path on it too).
[ $card_death = 1 ] && echo "unplug kill" >"$extra/etc/cardless-card-death"
initramfs_with "$initrd" "$extra"
rm -rf "$extra"

# The host's half of the guest's card_death suite, which runs last and says
# when: hot-unplug card 1 (QMP device_del) while the guest holds it open and
# mapped, then SIGKILL card 0's server while the guest streams from it. Card
# 0 sits behind a `cardless-device link` (run-qemu.sh --link 0): QEMU 11.1's
# vfio-user client aborts when its server's socket dies, the link keeps that
# socket and answers like a fabric whose card vanished (reads all-ones).
card_death_host() {
    local parent=$1 unplugged=0 pid
    while kill -0 "$parent" 2>/dev/null; do
        if [ $unplugged = 0 ] && grep -q "card-death: unplug card 1" "$run_dir/results.log" 2>/dev/null; then
            unplugged=1
            qmp "$(cat "$run_dir/qmp.path")" '{"execute": "device_del", "arguments": {"id": "card1"}}' &&
                note "host: asked QEMU to unplug card 1 (device_del)"
        fi
        if grep -q "card-death: streaming" "$run_dir/results.log" 2>/dev/null; then
            pid=$(cat "$run_dir/device0.pid")
            kill -9 "$pid" && note "host: killed card 0's server (pid $pid) with SIGKILL; its link answers"
            return
        fi
        sleep 0.1
    done
}
qmp() {
    python3 - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()  # greeting
for cmd in ({"execute": "qmp_capabilities"}, json.loads(sys.argv[2])):
    f.write(json.dumps(cmd) + "\n"); f.flush()
    while True:
        reply = json.loads(f.readline())
        if "return" in reply or "error" in reply:
            break
    if "error" in reply:
        sys.exit("QMP error: %s" % reply["error"])
PY
}

iommu_note=$([ "${IOMMU:-0}" = 1 ] && echo ", guest IOMMU" || true)
step "booting the guest ($KERNEL kernel, $cards cards$iommu_note) and running the suite"
start=$SECONDS
link_args=()
host=""
# Every card keeps a trace (SPEC §12): kept as the artifact of a failing
# run (make timeline TRACE=...), deleted when the run passes.
trace_args=()
for i in $(seq 0 $((cards - 1))); do
    trace_args+=(--card-args "$i" "--trace $run_dir/card$i.trace")
done
if [ $card_death = 1 ]; then
    link_args=(--link 0 --card-args 1 "--no-msix")
    card_death_host $$ &
    host=$!
fi
set +e
"$SCRIPTS_DIR/run-qemu.sh" --kernel "$KERNEL_IMAGE" --initrd "$initrd" --device "$DEVICE_BIN" \
    --log-dir "$run_dir" --mode test --cards "$cards" --timeout "${TIMEOUT:-900}" --device-args "${DEVICE_ARGS:-}" \
    "${link_args[@]}" "${trace_args[@]}"
boot_rc=$?
set -e
[ -z "$host" ] || { kill "$host" 2>/dev/null || true; wait "$host" 2>/dev/null || true; }
note "guest ran for $((SECONDS - start)) s under $(cat "$run_dir/accel" 2>/dev/null || echo '?'); logs in $run_dir"

step "verdict"
set +e
judge_run "$run_dir" | tee "$run_dir/verdict.txt"
rc=${PIPESTATUS[0]}
set -e
[ $boot_rc -eq 0 ] || { note "the guest run itself failed (status $boot_rc)"; rc=1; }
if [ $rc -eq 0 ]; then
    rm -f "$run_dir"/card*.trace
else
    for t in "$run_dir"/card*.trace; do
        [ -s "$t" ] && note "kept the card's trace of this failing run: $t ($(du -h "$t" | cut -f1); make timeline TRACE=$t)"
    done
fi
exit $rc
