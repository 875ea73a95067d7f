#!/usr/bin/env bash
# One-time set-up of a fresh Debian 12 machine (idempotent; quick when done).
source "$(dirname "$0")/lib.sh"
"$SCRIPTS_DIR/setup-host.sh"
# The kernel source and rust-src download while the QEMU root is made
# (mostly the network's time, ~1.5 min on a fresh machine); bindgen comes
# last: it runs with that root's C library (setup-bindgen.sh).
"$SCRIPTS_DIR/fetch-sources.sh" &
sources=$!
trap 'kill "$sources" 2>/dev/null || true' EXIT
"$SCRIPTS_DIR/setup-qemu-root.sh"
"$SCRIPTS_DIR/setup-bindgen.sh"
wait "$sources" || die "the kernel source or rust-src did not download (the error above)"
trap - EXIT
