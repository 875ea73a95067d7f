#!/usr/bin/env bash
# Builds everything a guest run needs, each step only when stale:
# set-up (first run), the guest kernel, the device server, the kernel module,
# the guest programs and the initramfs. Writes build/paths.env.
#
#   build.sh [machine|guest]   only the machine's half (set-up, kernel,
#                              device server, QMP client: what a restored
#                              guest needs to start) or the guest's (the
#                              module, the programs, the initramfs: what
#                              the run brings on its disk); default both.
#                              qemu-test.sh starts the guest between them.
source "$(dirname "$0")/lib.sh"

# The card server (unless CARDLESS_DEVICE_BIN names another build of it)
# and the harness's host tools: the QMP client and the verdict.
build_machine_crates() {
    local crates=(-p cardless-qmp -p cardless-verdict)
    [ -n "${CARDLESS_DEVICE_BIN:-}" ] || crates+=(-p cardless-device)
    harness_cargo_build "${crates[@]}"
}

build_guest_programs() { harness_cargo_build -p cardless-guest-tests; }

# Whether the guest kernel this run needs is built already (false before
# set-up has fetched what its key is made of).
kernel_is_built() {
    local kdir
    kdir=$(kernel_dir 2>/dev/null) && [ -e "$kdir/.complete" ]
}

build_machine() {
    local kdir device_bin cargo_log=$BUILD_DIR/logs/cargo-machine.log cargo_job
    # CARDLESS_DEVICE_BIN runs the guest against another build of the card.
    device_bin=${CARDLESS_DEVICE_BIN:-$HARNESS_BIN_DIR/cardless-device}

    # Cargo builds beside the set-up (on a fresh machine mostly network
    # waits) and the kernel build, which goes first (nice 19). Measured on
    # cold runs: beside the kernel it cost the kernel about 20 s and saved
    # the 54 s it took alone before it. When the kernel is to be built, the
    # guest programs build in the job too; when it is built already, they
    # build beside the restored guest (build_guest), not before it.
    # (A failure here, such as no linker before set-up installed one, is
    # retried in the foreground below, where its errors show.)
    mkdir -p "$(dirname "$cargo_log")"
    (
        renice -n 19 -p "$BASHPID" >/dev/null && build_machine_crates &&
            { kernel_is_built || build_guest_programs; }
    ) >"$cargo_log" 2>&1 &
    cargo_job=$!
    # shellcheck disable=SC2064 # the job's PID, now
    trap "kill_tree $cargo_job" EXIT
    "$SCRIPTS_DIR/setup.sh"
    kdir=$("$SCRIPTS_DIR/build-kernel.sh")
    kill -0 "$cargo_job" 2>/dev/null && step "building the harness's programs (release)"
    if ! wait "$cargo_job"; then
        build_machine_crates || die "the device server or the harness's host tools did not build (see the errors above)"
    fi
    trap - EXIT

    # (all four paths are known now: the guest's half fills the last two)
    cat >"$BUILD_DIR/paths.env" <<PATHS
KERNEL_IMAGE=$kdir/arch/x86/boot/bzImage
INITRAMFS=$BUILD_DIR/initramfs.cpio
GUEST_BIN_DIR=$HARNESS_BIN_DIR
DEVICE_BIN=$device_bin
PATHS
}

build_guest() {
    # The project's module, for the base initramfs (qemu-bench, zoo-test and its
    # own runs); a run of another module (M=DIR) neither needs nor waits for it.
    local module_ko=""
    if [ "$(module_dir)" = "$REPO_DIR/guest-driver/module" ]; then
        "$SCRIPTS_DIR/build-module.sh" "$REPO_DIR/guest-driver/module" "$BUILD_DIR/module" >/dev/null
        module_ko=$BUILD_DIR/module/cardless.ko
    fi

    step "building the guest programs (static)"
    build_guest_programs ||
        die "the guest programs did not build (see the errors above)"

    step "packing the initramfs"
    "$SCRIPTS_DIR/build-initramfs.sh" "$BUILD_DIR/initramfs.cpio" "$module_ko" "$HARNESS_BIN_DIR"
}

case "${1:-all}" in
    machine) build_machine ;;
    guest) build_guest ;;
    all) build_machine; build_guest ;;
    *) die "build.sh: unknown part '$1' (machine, guest, or none for both)" ;;
esac
