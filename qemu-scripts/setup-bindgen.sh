#!/usr/bin/env bash
# bindgen, the version the kernel's Rust build wants. Debian's own build of
# it (sid) needs a newer C library than this bookworm host has, and the QEMU
# root (trixie) has one: $BINDGEN runs Debian's binary through that root's
# loader, as qemu.sh runs QEMU, and loads the host's libclang (the same
# clang that compiles the kernel). Its output is byte for byte that of
# bindgen-cli built from the crate registry, which is what this falls back
# to (about 2 minutes of both cores) when the archive no longer has that
# version. Needs the QEMU root (setup-qemu-root.sh) first.
source "$(dirname "$0")/lib.sh"

if "$BINDGEN" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then exit 0; fi

deb_version=$(apt_cache_private madison bindgen | awk '{print $3}' | grep "^$BINDGEN_VERSION-" | sort -V | tail -1 || true)
if [ -n "$deb_version" ] && [ -x "$QEMU_ROOT/lib64/ld-linux-x86-64.so.2" ]; then
    step "downloading Debian's bindgen $deb_version (runs with the QEMU root's C library)"
    deb_dir=$TOOLS_DIR/bindgen-deb
    rm -rf "$deb_dir"
    fetch_deb "bindgen=$deb_version" "$deb_dir"
    mkdir -p "$(dirname "$BINDGEN")"
    cat >"$BINDGEN.tmp" <<WRAPPER
#!/bin/sh
# Debian's bindgen $deb_version with the C library of the QEMU root
# (written by qemu-scripts/setup-bindgen.sh).
exec "$QEMU_ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$QEMU_ROOT/usr/lib/x86_64-linux-gnu" "$deb_dir/usr/bin/bindgen" "\$@"
WRAPPER
    chmod +x "$BINDGEN.tmp"
    if "$BINDGEN.tmp" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
        mv "$BINDGEN.tmp" "$BINDGEN"
        exit 0
    fi
    rm -f "$BINDGEN.tmp"
    note "Debian's bindgen does not run here ($("$deb_dir/usr/bin/bindgen" --version 2>&1 | head -1)); building it instead"
fi

step "building bindgen-cli $BINDGEN_VERSION from the crate registry (about 2 minutes)"
rm -f "$BINDGEN"
run_logged "$CACHE_DIR/logs/bindgen.log" \
    cargo install --quiet bindgen-cli --version "$BINDGEN_VERSION" --locked --root "$TOOLS_DIR"
