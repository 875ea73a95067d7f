#!/usr/bin/env bash
# The bug zoo (make zoo-test): builds the test build of the module (the
# classic driver bugs compiled in: CARDLESS_ZOO=1, into build/module-zoo; the
# normal module never has them), boots one deterministic card behind a guest
# IOMMU with PAT debugging on, and runs the guest's zoo suite: each bug is
# caught, twice with the same report. Judged like qemu-test (KTAP + splats).
source "$(dirname "$0")/lib.sh"
hold_checkout_lock

"$SCRIPTS_DIR/build.sh"
# shellcheck source=/dev/null # build/paths.env is written by build.sh
source "$BUILD_DIR/paths.env"
[ "${KERNEL:-debug}" = debug ] ||
    note "KERNEL=$KERNEL: the zoo relies on the debug kernel's page poisoning; expect the kmalloc case to fail"

step "building the zoo build of the module (test build only)"
zoo_dir=$BUILD_DIR/module-zoo
mkdir -p "$zoo_dir"
kernel_make "$(kernel_src_dir)" O="$("$SCRIPTS_DIR/build-kernel.sh")" M="$REPO_DIR/guest-driver/module" \
    MO="$zoo_dir" CARDLESS_ZOO=1 modules >"$BUILD_DIR/module-zoo.log" 2>&1 ||
    { cat "$BUILD_DIR/module-zoo.log" >&2; die "the zoo build of the module did not build (log: $BUILD_DIR/module-zoo.log)"; }

run_dir=$BUILD_DIR/zoo
rm -rf "$run_dir"; mkdir -p "$run_dir"
# The normal initramfs plus an overlay: the zoo module in place of the
# normal one, and the suite to run.
extra=$(mktemp -d); mkdir -p "$extra/etc" "$extra/lib/modules"
cp "$zoo_dir/cardless.ko" "$extra/lib/modules/cardless.ko"
echo "zoo" >"$extra/etc/cardless-filter"
initramfs_with "$run_dir/initramfs.cpio" "$extra"
rm -rf "$extra"

step "booting one deterministic card behind a guest IOMMU; the guest runs the zoo"
set +e
IOMMU=1 GUEST_APPEND="debugpat ${GUEST_APPEND:-}" "$SCRIPTS_DIR/run-qemu.sh" --kernel "$KERNEL_IMAGE" \
    --initrd "$run_dir/initramfs.cpio" --device "$DEVICE_BIN" --log-dir "$run_dir" --mode test \
    --cards 1 --timeout "${TIMEOUT:-900}" --device-args "--deterministic --seed 7" \
    --card-args 0 "--trace $run_dir/card0.trace"
set -e

step "verdict"
verdict=0
judge_run "$run_dir" || verdict=$?

# The recorded run is itself a test: the card model, re-run without QEMU
# against the guest's recorded actions, must do exactly what it did.
step "replaying the recorded run without QEMU ($run_dir/card0.trace)"
if [ ! -s "$run_dir/card0.trace" ]; then
    note "no trace was written (did the card start? see $run_dir/device0.log)"; verdict=1
elif "$DEVICE_BIN" replay "$run_dir/card0.trace" >"$run_dir/replay.log" 2>&1; then
    note "$(tail -n 1 "$run_dir/replay.log")"
    found=$(grep -c '"ev":"sanitizer"' "$run_dir/card0.trace" || true)
    note "the card's DMA sanitizer reported $found finding(s) (trace 'sanitizer' lines; the first:)"
    grep -m1 'DMA sanitizer' "$run_dir/device0.log" | sed 's/^.*DMA sanitizer/      DMA sanitizer/' >&2 || true
    note "timeline of this run: make timeline TRACE=$run_dir/card0.trace"
else
    cat "$run_dir/replay.log" >&2
    note "FAIL: the replay diverged from the recording (above); trace kept: $run_dir/card0.trace"; verdict=1
fi
exit "$verdict"
