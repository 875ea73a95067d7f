#!/usr/bin/env bash
# make qemu-run: the test guest with the card(s) and the driver loaded, and an
# interactive shell on the console. With CMD='...', runs that one command in
# the guest instead, prints its output and exits with its status. M=DIR
# loads the out-of-tree module in DIR instead (its tests/ in /tests).
source "$(dirname "$0")/lib.sh"
hold_checkout_lock

"$SCRIPTS_DIR/build.sh"
# shellcheck source=/dev/null # build/paths.env is written by build.sh
source "$BUILD_DIR/paths.env"
run_dir=$BUILD_DIR/qemu-run
rm -rf "$run_dir"; mkdir -p "$run_dir"

# The module and the command travel as files in a second cpio appended to the initramfs.
extra=$(mktemp -d); mkdir -p "$extra/etc"
"$SCRIPTS_DIR/guest-module.sh" "$extra" --tests-optional >/dev/null
[ -n "${CMD:-}" ] && printf '%s\n' "$CMD" >"$extra/etc/cardless-cmd"
initramfs_with "$run_dir/initramfs.cpio" "$extra"
rm -rf "$extra"

if [ -z "${CMD:-}" ]; then
    exec "$SCRIPTS_DIR/run-qemu.sh" --kernel "$KERNEL_IMAGE" --initrd "$run_dir/initramfs.cpio" --device "$DEVICE_BIN" \
        --log-dir "$run_dir" --mode run --cards "${CARDS:-1}" --device-args "${DEVICE_ARGS:-}"
fi
set +e
"$SCRIPTS_DIR/run-qemu.sh" --kernel "$KERNEL_IMAGE" --initrd "$run_dir/initramfs.cpio" --device "$DEVICE_BIN" \
    --log-dir "$run_dir" --mode cmd --cards "${CARDS:-1}" --timeout "${TIMEOUT:-600}" --device-args "${DEVICE_ARGS:-}"
boot_rc=$?
set -e
if [ ! -f "$run_dir/results.log" ]; then
    # QEMU never started the guest (a bad QEMU_EXTRA, say): its own words.
    tail -n 5 "$run_dir/qemu.log" >&2 2>/dev/null || true
    die "QEMU did not start the guest (status $boot_rc; its log: $run_dir/qemu.log)"
fi
status=$(sed -n "s/^cardless-guest-exit: *//p" "$run_dir/results.log" | tail -1 | tr -dc 0-9)
[ -n "$status" ] || die "the guest did not finish the command (status $boot_rc; console: $run_dir/console.log)"
exit "$status"
