# shellcheck shell=bash
# Boot once, restore many: a guest booted to the point where /init would load
# the driver, saved to a file (QEMU migration, mapped-ram), and restored for
# each run with the cards hot-added. Sourced by run-qemu.sh, which owns the
# QEMU command line; these functions need its machine_args, sock_dir, log_dir
# and pids.
#
# Why the cards are hot-added: QEMU 11.1's vfio-user client does not migrate
# a device's state (it saves a guest with a vfio-user-pci attached, 0 bytes
# for it: the server's registers, DMA maps and interrupts would be lost), so
# the saved guest has empty PCIe root ports (rpN) and each run adds its cards
# with QMP device_add before the guest goes on (initramfs/await-run: why the
# guest finds them by a rescan, not through pciehp).
#
# The run's disk is in the saved guest (a blank one when it was saved: the
# guest never reads it before the restore), and each run puts its own file
# behind it: a cpio archive of the run's files, which the guest unpacks over
# its root (no disk filesystem in the kernel: one less to build).
#
# What a saved guest fixes: the kernel, its command line (so memmap= and every
# kernel option), /init, await-run and busybox, QEMU and the machine options.
# All of them make up its key; a change of any makes a new one. What a run
# brings on its disk: the module, the test programs, the run options (etc/)
# and its command line (etc/cardless-cmdline: the module's cardless.*
# parameters and the mode, which /init reads instead of /proc/cmdline).

# Bump when the way a guest is saved or restored changes.
SNAPSHOT_RECIPE=3
SNAPSHOT_ROOT=$CACHE_DIR/snapshots
# The run's disk has one size for every run: the saved guest knows its size.
RUN_DISK_MB=128

# snapshot_dir KERNEL APPEND ARGS...: where the saved guest for this kernel,
# kernel command line and machine options lives (made or not).
snapshot_dir() {
    local kernel=$1 append=$2; shift 2
    local key
    key=$({
        echo "recipe $SNAPSHOT_RECIPE, run disk $RUN_DISK_MB MiB"
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
    # shellcheck disable=SC2154 # sock_dir is run-qemu.sh's (above: what these functions need)
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
    # Keep the newest seven saved guests (CI alone uses five: plain, IOMMU,
    # INTx, zoo, one card); each is about the guest's RAM on disk.
    newest_first "$SNAPSHOT_ROOT" -type d | tail -n +8 | while IFS= read -r old; do rm -rf "$old"; done
}

# snapshot_blank_disk FILE: a blank disk of the run disk's size; prints FILE.
snapshot_blank_disk() {
    rm -f "$1"; truncate -s "${RUN_DISK_MB}M" "$1"
    echo "$1"
}

# run_disk INITRD APPEND OUT [SAVED_INITRD]: the run's disk (OUT, a blank
# disk: snapshot_blank_disk) holding a cpio archive (newc) of the run's
# files from INITRD (all of them, /tests and an M=DIR module's guest/ files
# too; but /init, busybox and await-run, running in the saved guest: a
# script overwritten while busybox sh reads it goes astray) and its command
# line (etc/cardless-cmdline); the restored guest unpacks it over its root
# (initramfs/await-run). A file the saved guest's own initramfs
# (SAVED_INITRD) has with the same bytes stays out: the guest still holds it
# in RAM, where it runs without being read from the disk first (about 1 s
# for each of the test programs under TCG); but not the run's options and
# tests, which the saved guest deleted (await-run).
run_disk() {
    local initrd=$1 append=$2 out=$3 saved=${4:-} stage size file
    # (in run-qemu.sh's private directory: gone on every exit path)
    stage=$(mktemp -d "$sock_dir/run-disk.XXXXXX")
    mkdir -p "$stage/unpacked" "$stage/saved" "$stage/root/etc"
    (cd "$stage/unpacked" && cpio -id --quiet <"$initrd") || { rm -rf "$stage"; die "cannot unpack $initrd"; }
    if [ -n "$saved" ]; then
        (cd "$stage/saved" && cpio -id --quiet <"$saved") || { rm -rf "$stage"; die "cannot unpack $saved"; }
    fi
    (cd "$stage/unpacked" && find . -type f ! -path ./init ! -path ./bin/busybox ! -path ./bin/cardless-await-run) |
        while IFS= read -r file; do
            case "$file" in
                ./etc/cardless-* | ./tests/*) ;;
                *) cmp -s "$stage/unpacked/$file" "$stage/saved/$file" && continue ;;
            esac
            printf '%s\0' "$file"
        done | (cd "$stage/unpacked" && cpio -pdm0 --quiet "$stage/root")
    printf '%s\n' "$append" >"$stage/root/etc/cardless-cmdline"
    (cd "$stage/root" && find . -mindepth 1 -print0 | cpio --null -o -H newc --quiet) >"$stage/run.cpio" ||
        { rm -rf "$stage"; die "cannot pack the run's files"; }
    size=$(stat -c %s "$stage/run.cpio")
    [ "$size" -le $((RUN_DISK_MB << 20)) ] ||
        { rm -rf "$stage"; die "the run's files take $((size >> 20)) MiB: more than the run disk holds (RUN_DISK_MB=$RUN_DISK_MB in qemu-scripts/snapshot.sh)"; }
    # (OUT is a blank disk QEMU may hold open already: written in place.)
    dd if="$stage/run.cpio" of="$out" bs=1M conv=notrunc status=none ||
        { rm -rf "$stage"; die "cannot write the run's files into $out"; }
    rm -rf "$stage"
}

# grow_disk MIB: the run disk seen RUN_DISK_MB + MIB MiB large by the guest
# (QMP block_resize): a restored guest's cue to go on (initramfs/await-run).
grow_disk() {
    # shellcheck disable=SC2154 # log_dir is run-qemu.sh's (above: what these functions need)
    "$QMP_BIN" --socket "$sock_dir/qmp.sock" block_resize \
        "{\"device\": \"run-disk\", \"size\": $(((RUN_DISK_MB + $1) << 20))}" >/dev/null ||
        die "QEMU did not grow the run disk (QMP block_resize), the restored guest's cue; see $log_dir/qemu.log"
}
