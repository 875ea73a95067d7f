#!/usr/bin/env bash
# make qemu-test: build what is stale, boot the guest with the card(s), run
# the driver's suite, and judge it (qemu-scripts/verdict): every failed test
# by name, every kernel report, every card error, sanitizer finding, panic
# or error line of a card that no test declared, every skip the run's
# configuration does not explain, every case asked for that never reported,
# and a closing line "N passed, N failed, N skipped". Exits non-zero on any.
#
#   TESTS="suite ..."  run only the suites (or suite.case) these words name
#   M=DIR              test the out-of-tree module in DIR instead (C or Rust:
#                      runs DIR/tests/run, or TEST='...'; guest-module.sh)
#   SELFTEST=1  run the harness's own must-fail cases instead (used by
#               harness-selftest.sh; the verdict must then be red)
#   FAILFAST=1  stop the guest at the first failing case (make mutants)
#   SOAK=N      race the racing cases N times their base duration (default
#               1, about 8.5 s in all; CI soaks one run; tests/src/soak.rs)
source "$(dirname "$0")/lib.sh"
soak=${SOAK:-1}
if ! [[ $soak =~ ^[1-9][0-9]{0,2}$ ]] || [ "$soak" -gt 100 ]; then
    die "SOAK=$soak: give a whole number from 1 to 100 (each racing case races that many times its base duration)"
fi
hold_checkout_lock
timing_begin "$BUILD_DIR/timing.tsv"

# The machine's half of the build first (kernel, card), then the guest
# starts (a restored one enumerates its cards) while the module and the
# test programs build: they reach it on its disk (run-qemu.sh --initrd-later).
"$SCRIPTS_DIR/build.sh" machine
# shellcheck source=/dev/null # build/paths.env is written by build.sh
source "$BUILD_DIR/paths.env"

run_dir=$BUILD_DIR/qemu-test
rm -rf "$run_dir"; mkdir -p "$run_dir"
cards=${CARDS:-2}
selftest=${SELFTEST:-0}
own_module=0
[ "$(module_dir)" = "$REPO_DIR/guest-driver/module" ] && own_module=1
# With two cards the host plays its half of the card_death suite: QMP
# device_del of card 1, then SIGKILL of card 0's server behind its link
# (card-death-host.sh). QEMU 11.1 aborts when it finalizes an unplugged
# vfio-user device that has MSI-X, so card 1 runs with --no-msix (MSI:
# the suite covers that interrupt path on it too).
card_death=0
[ "$cards" -ge 2 ] && [ "$selftest" != 1 ] && [ $own_module = 1 ] && card_death=1
# (With IRQ=intx the guest's root ports have no hotplug slot for the unplug:
# the card_death suite skips, as its configuration says.)
[ "${IRQ:-msi}" = intx ] && card_death=0

iommu_note=""
[ "${IOMMU:-0}" = 1 ] && iommu_note=", guest IOMMU"
step "starting the guest ($KERNEL kernel, $cards cards$iommu_note); it runs the suite once its files are built"
start=$SECONDS
# Every card keeps a trace (SPEC §12): the verdict reads each card's errors
# and sanitizer findings from it; a failing run keeps them as its artifact
# (make timeline TRACE=...), a passing one deletes them. Card 0 has the
# fault debug window (SPEC §14.4) for the faults suite.
card_args=(--card-args 0 "--debug-window")
for i in $(seq 0 $((cards - 1))); do
    card_args+=(--card-args "$i" "--trace $run_dir/card$i.trace")
done
if [ $card_death = 1 ]; then
    card_args+=(--link 0 --card-args 1 "--no-msix")
fi
initrd=$run_dir/initramfs.cpio
"$SCRIPTS_DIR/run-qemu.sh" --kernel "$KERNEL_IMAGE" --initrd "$initrd" --initrd-later --device "$DEVICE_BIN" \
    --log-dir "$run_dir" --mode test --cards "$cards" --timeout "${TIMEOUT:-900}" --device-args "${DEVICE_ARGS:-}" \
    "${card_args[@]}" &
guest=$!
# A build that fails (or a TESTS that names nothing) ends the guest too.
trap 'kill "$guest" 2>/dev/null || true' EXIT
# What the build stages from here on stays in the run's directory: a Ctrl-C
# while the guest already runs leaves nothing in the caller's TMPDIR.
export TMPDIR=$run_dir/tmp
mkdir -p "$TMPDIR"

"$SCRIPTS_DIR/build.sh" guest
# Run options travel as files in a second cpio appended to the initramfs;
# the module under test first (M=DIR, default the project's own).
extra=$(mktemp -d); mkdir -p "$extra/etc"
"$SCRIPTS_DIR/guest-module.sh" "$extra" >/dev/null

# What the guest will be asked to run: the verdict checks every case reports.
# (The guest programs are static x86-64 binaries: they list on the host too.)
# Another module's tests are judged by what they print (KTAP, or their status).
expected=$run_dir/expected-cases.txt
list_args=()
[ "$selftest" = 1 ] && list_args=(--harness-selftest)
if [ $own_module = 1 ]; then
    # shellcheck disable=SC2086
    "$GUEST_BIN_DIR/cardless-tests" --list "${list_args[@]}" ${TESTS:-} >"$expected" ||
        die "TESTS='${TESTS:-}' names no suite or case (cardless-tests --help lists them)"
fi
# The self-test also asks for a case that does not exist: the verdict must miss it.
[ "$selftest" = 1 ] && echo "harness_selftest.a_case_the_guest_never_runs" >>"$expected"

[ "$selftest" = 1 ] && touch "$extra/etc/cardless-selftest"
[ "${FAILFAST:-0}" = 1 ] && touch "$extra/etc/cardless-failfast"
[ "$soak" = 1 ] || echo "$soak" >"$extra/etc/cardless-soak"
[ -n "${TESTS:-}" ] && printf '%s\n' "$TESTS" >"$extra/etc/cardless-filter"
# Only a run with the card_death suite gets the host's half (and with it
# a restored guest's hotplug ports back in pciehp's hands: initramfs/init).
# (The cards are set up alike either way: a run is one configuration.)
host_half=0
if [ $card_death = 1 ] && grep -q '^card_death\.' "$expected"; then
    echo "unplug kill" >"$extra/etc/cardless-card-death"
    host_half=1
fi
# Whole or not at all: the guest takes its disk from it once it exists.
initramfs_with "$initrd.tmp" "$extra"
mv "$initrd.tmp" "$initrd"
rm -rf "$extra"
step "the run's files are built; the guest runs the suite"

host=""
verdict_args=(--config "cards=$cards" --config "iommu=${IOMMU:-0}" --config "irq=${IRQ:-msi}"
    --config "kernel=$KERNEL" --config "card0=debug-window" --config "module=normal" --config "soak=$soak")
[ -s "$expected" ] && verdict_args+=(--expect-cases "$expected")
if [ $host_half = 1 ]; then
    verdict_args+=(--config "host=unplug,kill" --killed-card 0)
    "$SCRIPTS_DIR/card-death-host.sh" "$run_dir" $$ &
    host=$!
fi
set +e
wait "$guest"
boot_rc=$?
set -e
trap - EXIT
[ -z "$host" ] || { kill "$host" 2>/dev/null || true; wait "$host" 2>/dev/null || true; }
note "guest ran for $((SECONDS - start)) s under $(cat "$run_dir/accel" 2>/dev/null || echo '?'); logs in $run_dir"

step "verdict"
# Kept so a run can be judged again: judge_run DIR $(cat DIR/verdict-args.txt)
printf '%s\n' "${verdict_args[@]}" >"$run_dir/verdict-args.txt"
set +e
judge_run "$run_dir" "${verdict_args[@]}" | tee "$run_dir/verdict.txt"
rc=${PIPESTATUS[0]}
set -e
[ $boot_rc -eq 0 ] || { note "the guest run itself failed (status $boot_rc)"; rc=1; }
if [ "$rc" -eq 0 ]; then
    rm -f "$run_dir"/card*.trace
else
    for t in "$run_dir"/card*.trace; do
        [ -s "$t" ] && note "kept the card's trace of this failing run: $t ($(du -h "$t" | cut -f1); make timeline TRACE=$t)"
    done
fi
timing_report
exit "$rc"
