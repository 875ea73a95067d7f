# shellcheck shell=bash
# Boot once, restore many: a guest booted to the point where /init would load
# the driver, saved to a file (QEMU migration, mapped-ram), and restored for
# each run with the cards hot-added. Sourced by run-qemu.sh, which owns the
# QEMU command line; these functions need its machine_args, sock_dir and pids.
#
# Why the cards are hot-added: QEMU 11.1's vfio-user client cannot migrate
# (a guest with a vfio-user-pci device refuses to save), so the saved guest
# has empty PCIe root ports (rpN, and rpd for the run's disk) and the run adds
# its cards and disk with QMP device_add before letting the guest go on.
#
# What a saved guest fixes: the kernel, its command line (so memmap= and every
# kernel option), /init and busybox, QEMU and the machine options. All of them
# make up its key; a change of any makes a new one. What a run brings on its
# hot-added disk: the module, the test programs, the run options (etc/) and its
# command line (etc/cardless-cmdline: the module's cardless.* parameters and
# the mode, which /init reads instead of /proc/cmdline).

# Bump when the way a guest is saved or restored changes.
SNAPSHOT_RECIPE=1
SNAPSHOT_ROOT=$CACHE_DIR/snapshots

# snapshot_dir KERNEL APPEND ARGS...: where the saved guest for this kernel,
# kernel command line and machine options lives (made or not).
snapshot_dir() {
    local kernel=$1 append=$2; shift 2
    local key
    key=$({
        echo "recipe $SNAPSHOT_RECIPE"
        "$SCRIPTS_DIR/qemu.sh" --version | head -1
        sha256sum <"$kernel"
        cat "$SCRIPTS_DIR/initramfs/init" "$SCRIPTS_DIR/initramfs/await-run" | sha256sum
        sha256sum <"$(busybox_path)"
        echo "$append"
        printf '%s\n' "$@"
    } | sha_of)
    echo "$SNAPSHOT_ROOT/$key"
}

# The kernel command line a saved guest boots with: the run's without the
# module's and the harness's cardless.* words, which each run brings.
snapshot_append() {
    local word out="cardless.snapshot=1"
    for word in $1; do
        case "$word" in cardless.*) ;; *) out+=" $word" ;; esac
    done
    echo "$out"
}

# snapshot_make DIR KERNEL INITRD APPEND ARGS...: boots a guest with no cards
# and saves it into DIR once /init says it is ready. Returns non-zero when
# it could not; when QEMU refused to save it, DIR/unusable says why (and no
# later run tries again with the same key).
snapshot_make() {
    local dir=$1 kernel=$2 initrd=$3 append=$4; shift 4
    local tmp=$dir.tmp qmp=$sock_dir/save.qmp qemu start rc=0
    rm -rf "$tmp"; mkdir -p "$tmp"
    cp "$initrd" "$tmp/initramfs.cpio"
    printf '%s\n' "$append" >"$tmp/append"
    step "booting the guest once to save it (then each run restores it): $(basename "$dir")"
    start=$SECONDS
    "$SCRIPTS_DIR/qemu.sh" "$@" -kernel "$kernel" -initrd "$tmp/initramfs.cpio" -append "$append" \
        -serial "file:$tmp/console.log" -serial "file:$tmp/results.log" \
        -qmp "unix:$qmp,server=on,wait=off" >"$tmp/qemu.log" 2>&1 &
    qemu=$!
    pids+=("$qemu")
    until grep -q '^cardless-snapshot: ready' "$tmp/results.log" 2>/dev/null; do
        if ! kill -0 "$qemu" 2>/dev/null || [ $((SECONDS - start)) -ge 600 ]; then
            note "the guest to be saved did not reach /init's wait in $((SECONDS - start)) s (console: $tmp/console.log)"
            kill "$qemu" 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
    note "booted in $((SECONDS - start)) s; saving it"
    "$QMP_BIN" --socket "$qmp" --save "$tmp/guest.mig" 2>"$tmp/save.err" || rc=$?
    wait "$qemu" 2>/dev/null || true
    if [ $rc -ne 0 ]; then
        mkdir -p "$dir"
        { cat "$tmp/save.err"; tail -n 5 "$tmp/qemu.log"; } >"$dir/unusable"
        return 1
    fi
    rm -rf "$dir"; mv "$tmp" "$dir"
    note "saved in $((SECONDS - start)) s in all: $dir ($(du -sh "$dir/guest.mig" | cut -f1) on disk)"
    # Keep the newest three saved guests.
    ls -dt "$SNAPSHOT_ROOT"/*/ 2>/dev/null | tail -n +4 | xargs -r rm -rf
}

# payload_disk INITRD APPEND HOTPLUGGED OUT: the run's disk, ext4: the run's
# files from INITRD (but /init, busybox and await-run, running in the saved
# guest: a script overwritten while busybox sh reads it goes astray)
# under /payload, its command line and the number of PCI functions the host
# hot-adds; room to spare for the suite's O_DIRECT scratch files.
payload_disk() {
    local initrd=$1 append=$2 hotplugged=$3 out=$4 stage size
    stage=$(mktemp -d)
    mkdir -p "$stage/unpacked" "$stage/root/payload/etc"
    (cd "$stage/unpacked" && cpio -id --quiet <"$initrd") || { rm -rf "$stage"; die "cannot unpack $initrd"; }
    (cd "$stage/unpacked" && find lib etc bin -type f ! -path bin/busybox ! -path bin/cardless-await-run -print0 2>/dev/null |
        cpio -pdm0 --quiet "$stage/root/payload")
    printf '%s\n' "$append" >"$stage/root/payload/etc/cardless-cmdline"
    echo "$hotplugged" >"$stage/root/payload/etc/cardless-hotplugged"
    size=$(($(du -sm "$stage/root" | cut -f1) + 48))
    rm -f "$out"; truncate -s "${size}M" "$out"
    "$(command -v mkfs.ext4 || echo /sbin/mkfs.ext4)" -q -F -d "$stage/root" "$out" ||
        { rm -rf "$stage"; die "mkfs.ext4 -d failed (e2fsprogs >= 1.43 needed; run 'make setup')"; }
    rm -rf "$stage"
}
