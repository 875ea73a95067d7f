#!/usr/bin/env bash
# Runs the QEMU of the trixie root through that root's own dynamic loader.
source "$(dirname "$0")/lib.sh"
[ -x "$QEMU_ROOT/usr/bin/qemu-system-x86_64" ] || die "no QEMU in $QEMU_ROOT; run 'make setup'"
export QEMU_MODULE_DIR=$QEMU_ROOT/usr/lib/x86_64-linux-gnu/qemu
exec "$QEMU_ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$QEMU_ROOT/usr/lib/x86_64-linux-gnu" \
    "$QEMU_ROOT/usr/bin/qemu-system-x86_64" -L "$QEMU_ROOT/usr/share/seabios" -L "$QEMU_ROOT/usr/share/qemu" "$@"
