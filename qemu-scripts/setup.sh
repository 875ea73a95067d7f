#!/usr/bin/env bash
# One-time set-up of a fresh Debian 12 machine (idempotent; quick when done).
source "$(dirname "$0")/lib.sh"
"$SCRIPTS_DIR/setup-host.sh"
# bindgen-cli builds (both cores, ~2 min on a fresh machine) while the
# kernel source and the QEMU root download (the network's time, ~1 min).
"$SCRIPTS_DIR/setup-bindgen.sh" &
bindgen=$!
trap 'kill "$bindgen" 2>/dev/null || true' EXIT
"$SCRIPTS_DIR/fetch-sources.sh"
"$SCRIPTS_DIR/setup-qemu-root.sh"
wait "$bindgen" || die "bindgen-cli did not build (its error above)"
trap - EXIT
