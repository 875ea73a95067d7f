#!/usr/bin/env bash
# Builds everything a guest run needs, each step only when stale:
# set-up (first run), the guest kernel, the device server, the kernel module,
# the guest programs and the initramfs. Writes build/paths.env.
source "$(dirname "$0")/lib.sh"

"$SCRIPTS_DIR/setup.sh"
kdir=$("$SCRIPTS_DIR/build-kernel.sh")

# CARDLESS_DEVICE_BIN runs the guest against another build of the card.
device_bin=${CARDLESS_DEVICE_BIN:-$REPO_DIR/target/release/cardless-device}
if [ -z "${CARDLESS_DEVICE_BIN:-}" ]; then
    step "building the device server (release)"
    (cd "$REPO_DIR" && cargo build --release --quiet -p cardless-device --bin cardless-device) ||
        die "the device server did not build (see the errors above)"
fi

(cd "$REPO_DIR" && cargo build --release --quiet -p cardless-qmp) || die "the QMP client did not build (see the errors above)"

# The project's module, for the base initramfs (qemu-bench, zoo-test and its
# own runs); a run of another module (M=DIR) neither needs nor waits for it.
module_ko=""
if [ "$(module_dir)" = "$REPO_DIR/guest-driver/module" ]; then
    "$SCRIPTS_DIR/build-module.sh" "$REPO_DIR/guest-driver/module" "$BUILD_DIR/module" >/dev/null
    module_ko=$BUILD_DIR/module/cardless.ko
fi

step "building the guest programs (static)"
target=x86_64-unknown-linux-gnu
(cd "$REPO_DIR" && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --quiet --target "$target" -p cardless-guest-tests) ||
    die "the guest programs did not build (see the errors above)"
guest_bin=$REPO_DIR/target/$target/release

step "packing the initramfs"
"$SCRIPTS_DIR/build-initramfs.sh" "$BUILD_DIR/initramfs.cpio" "$module_ko" "$guest_bin"

cat >"$BUILD_DIR/paths.env" <<PATHS
KERNEL_IMAGE=$kdir/arch/x86/boot/bzImage
INITRAMFS=$BUILD_DIR/initramfs.cpio
GUEST_BIN_DIR=$guest_bin
DEVICE_BIN=$device_bin
PATHS
