#!/usr/bin/env bash
# make qemu-test: build what is stale, boot the guest with the card(s), run
# the driver's suite, and judge it: every failed test by name, every kernel
# report (WARNING, BUG, Oops, KASAN, lockdep, ...) in the console log, and a
# closing line "N passed, N failed". Exits non-zero on any failure.
#
#   TESTS="suite ..."  run only the suites whose names contain these words
#   SELFTEST=1  run the harness's own must-fail checks instead (used by
#               harness-selftest.sh; the verdict must then be red)
source "$(dirname "$0")/lib.sh"

"$SCRIPTS_DIR/build.sh"
source "$BUILD_DIR/paths.env"

run_dir=$BUILD_DIR/qemu-test
rm -rf "$run_dir"; mkdir -p "$run_dir"
# Run options travel as files in a second cpio appended to the initramfs.
initrd=$INITRAMFS
if [ "${SELFTEST:-0}" = 1 ] || [ -n "${TESTS:-}" ]; then
    initrd=$run_dir/initramfs.cpio
    extra=$(mktemp -d); mkdir -p "$extra/etc"
    [ "${SELFTEST:-0}" = 1 ] && touch "$extra/etc/cardless-selftest"
    [ -n "${TESTS:-}" ] && printf '%s\n' "$TESTS" >"$extra/etc/cardless-filter"
    (cd "$extra" && find . | cpio -o -H newc --quiet) | cat "$INITRAMFS" - >"$initrd"
    rm -rf "$extra"
fi

step "booting the guest ($KERNEL kernel, ${CARDS:-2} cards$([ "${IOMMU:-0}" = 1 ] && echo ", guest IOMMU")) and running the suite"
start=$SECONDS
set +e
"$SCRIPTS_DIR/run-qemu.sh" --kernel "$KERNEL_IMAGE" --initrd "$initrd" --device "$DEVICE_BIN" \
    --log-dir "$run_dir" --mode test --cards "${CARDS:-2}" --timeout "${TIMEOUT:-900}" --device-args "${DEVICE_ARGS:-}"
boot_rc=$?
set -e
note "guest ran for $((SECONDS - start)) s under $(cat "$run_dir/accel" 2>/dev/null || echo '?'); logs in $run_dir"

step "verdict"
verdict=$REPO_DIR/target/release/cardless-verdict
(cd "$REPO_DIR" && cargo build --release --quiet -p cardless-verdict)
set +e
"$verdict" --results "$run_dir/results.log" --console "$run_dir/console.log" | tee "$run_dir/verdict.txt"
rc=${PIPESTATUS[0]}
set -e
[ $boot_rc -eq 0 ] || { note "the guest run itself failed (status $boot_rc)"; rc=1; }
exit $rc
