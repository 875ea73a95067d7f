#!/usr/bin/env bash
# A trixie + trixie-backports root holding QEMU 11.1 (the first with vfio-user-pci).
# QEMU runs through this root's own loader: no chroot, no mounts, no root at run time.
source "$(dirname "$0")/lib.sh"

QEMU_PACKAGES="qemu-system-x86,seabios,ipxe-qemu"
key=$(printf '%s %s %s\n' "$QEMU_SUITE" "$QEMU_PACKAGES" "$(debian_mirror)" | sha_of)
if [ -e "$QEMU_ROOT/.complete-$key" ]; then exit 0; fi

[ "$(id -u)" = 0 ] || die "making the QEMU root needs root once (mmdebstrap --mode=root); run 'make setup' as root"
step "building the QEMU 11.1 root with mmdebstrap ($QEMU_SUITE + $QEMU_SUITE-backports, ~200 MB)"
mirror=$(debian_mirror)
rm -rf "$QEMU_ROOT"
run_logged "$CACHE_DIR/logs/mmdebstrap.log" \
    mmdebstrap --variant=essential --mode=root \
    --aptopt='APT::Default-Release "'"$QEMU_SUITE"'-backports"' \
    --include="$QEMU_PACKAGES" \
    "$QEMU_SUITE" "$QEMU_ROOT" \
    "deb $mirror $QEMU_SUITE main" "deb $mirror $QEMU_SUITE-backports main"
"$SCRIPTS_DIR/qemu.sh" --version | head -1 | grep -qE 'version (1[1-9]|[2-9][0-9])\.' ||
    die "the QEMU in $QEMU_ROOT is not >= 11 (vfio-user-pci needs >= 10.1): $("$SCRIPTS_DIR/qemu.sh" --version | head -1)"
touch "$QEMU_ROOT/.complete-$key"
