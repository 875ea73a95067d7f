#!/usr/bin/env bash
# bindgen-cli, the version the kernel's Rust build wants (Debian's is too old).
source "$(dirname "$0")/lib.sh"

if ! "$BINDGEN" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
    step "building bindgen-cli $BINDGEN_VERSION (about 2 minutes)"
    run_logged "$CACHE_DIR/logs/bindgen.log" \
        cargo install --quiet bindgen-cli --version "$BINDGEN_VERSION" --locked --root "$TOOLS_DIR"
fi
