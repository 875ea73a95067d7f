#!/usr/bin/env bash
# One-time set-up of a fresh Debian 12 machine (idempotent; quick when done).
source "$(dirname "$0")/lib.sh"
"$SCRIPTS_DIR/setup-host.sh"
"$SCRIPTS_DIR/fetch-sources.sh"
"$SCRIPTS_DIR/setup-qemu-root.sh"
