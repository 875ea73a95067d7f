#!/usr/bin/env bash
# The Debian Linux source and the rust-src that matches this machine's rustc exactly.
source "$(dirname "$0")/lib.sh"

# Both already here: nothing to ask the archive (its look-ups cost seconds
# on every run).
RUSTC_VERSION=$(rustc_version)
RUST_SRC_DIR=$CACHE_DIR/src/rust-src-$RUSTC_VERSION
current=$(cat "$CACHE_DIR/src/current" 2>/dev/null || true)
if [ -n "$current" ] && [ -e "$current/.complete" ] && [ -e "$RUST_SRC_DIR/.complete" ] &&
    { [ -z "${KERNEL_DEB_VERSION:-}" ] || [ "$current" = "$CACHE_DIR/src/linux-$KERNEL_DEB_VERSION" ]; }; then
    exit 0
fi

# Prefer the version this project was tested with; fall back to the newest
# $KERNEL_SERIES the archive has (sid moves on), and say so.
KERNEL_DEB_VERSION=${KERNEL_DEB_VERSION:-7.2.13-1}
if ! apt_cache_private madison "$KERNEL_PKG" | awk '{print $3}' | grep -qx "$KERNEL_DEB_VERSION"; then
    newest=$(apt_cache_private madison "$KERNEL_PKG" | awk '{print $3}' | sort -V | tail -1)
    [ -n "$newest" ] || die "no $KERNEL_PKG in trixie-backports or sid; run qemu-scripts/setup-host.sh"
    note "$KERNEL_PKG $KERNEL_DEB_VERSION is gone from the archive; using $newest"
    KERNEL_DEB_VERSION=$newest
fi
SRC_DIR=$CACHE_DIR/src/linux-$KERNEL_DEB_VERSION
if [ ! -e "$SRC_DIR/.complete" ]; then
    step "downloading and unpacking $KERNEL_PKG $KERNEL_DEB_VERSION (~150 MB)"
    rm -rf "$SRC_DIR" "$SRC_DIR.deb"
    fetch_deb "$KERNEL_PKG=$KERNEL_DEB_VERSION" "$SRC_DIR.deb"
    mkdir -p "$SRC_DIR"
    tar -xf "$SRC_DIR.deb"/usr/src/linux-source-*.tar.* -C "$SRC_DIR" --strip-components=1
    rm -rf "$SRC_DIR.deb"
    touch "$SRC_DIR/.complete"
fi
echo "$SRC_DIR" >"$CACHE_DIR/src/current"

if [ ! -e "$RUST_SRC_DIR/.complete" ]; then
    ver=$(apt_cache_private madison rust-src | awk '{print $3}' | grep "^$RUSTC_VERSION+" | sort -V | tail -1)
    [ -n "$ver" ] || die "no Debian rust-src for rustc $RUSTC_VERSION (the kernel needs the exact version); available: $(apt_cache_private madison rust-src | awk '{print $3}' | tr '\n' ' ')"
    step "downloading rust-src $ver (matches rustc $RUSTC_VERSION)"
    rm -rf "$RUST_SRC_DIR"
    fetch_deb "rust-src=$ver" "$RUST_SRC_DIR"
    touch "$RUST_SRC_DIR/.complete"
fi
