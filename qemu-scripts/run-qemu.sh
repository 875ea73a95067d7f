#!/usr/bin/env bash
# Boots the guest with emulated cards attached.
#
#   run-qemu.sh --kernel BZIMAGE --initrd CPIO --device BIN --log-dir DIR
#               [--mode test|cmd|run] [--cards N] [--timeout SECONDS]
#               [--accel auto|tcg|kvm] [--device-args "ARGS"]
#               [--card-args I "ARGS"]... [--link I]... [--initrd-later]
#
# --initrd-later: the caller is still building CPIO (make qemu-test: the
# module and the test programs) and renames it into place when done. A
# restored guest starts at once, enumerates its cards and waits for its
# disk, made from CPIO when it appears; a booted one waits for CPIO first.
# --device-args go to every card's cardless-device; --card-args I (repeatable)
# appends to card I's only, after the --device-args (e.g. a traced card).
# --link I puts a `cardless-device link` between QEMU and card I's server:
# the server can then die (SIGKILL) without taking QEMU down; the card reads
# all-ones instead. For the host's side of a run, LOG_DIR gets deviceI.pid
# (card I's server) and qmp.path (QEMU's monitor socket).
#
# Each card is a cardless-device process on a socket in a private 0700
# directory. Both processes and the directory are cleaned up on every exit
# path (success, failure, timeout, Ctrl-C). Exit status: 0 when the guest
# powered off by itself, 124 on timeout, 1 when something failed to start.
source "$(dirname "$0")/lib.sh"
source "$SCRIPTS_DIR/snapshot.sh"

mode=test cards=1 timeout=600 accel=${ACCEL:-auto} device_args="" kernel="" initrd="" device="" log_dir="" initrd_later=0
declare -A per_card_args=() linked=()
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) kernel=$2; shift 2 ;;
        --initrd) initrd=$2; shift 2 ;;
        --device) device=$2; shift 2 ;;
        --log-dir) log_dir=$2; shift 2 ;;
        --mode) mode=$2; shift 2 ;;
        --cards) cards=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --accel) accel=$2; shift 2 ;;
        --device-args) device_args=$2; shift 2 ;;
        --card-args)
            [[ $# -ge 3 && $2 =~ ^[0-9]+$ ]] || die "run-qemu.sh: --card-args needs a card index and its arguments (--card-args 0 '--trace FILE')"
            per_card_args[$2]="${per_card_args[$2]:-} $3"; shift 3 ;;
        --initrd-later) initrd_later=1; shift ;;
        --link)
            [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || die "run-qemu.sh: --link needs a card index"
            linked[$2]=1; shift 2 ;;
        *) die "run-qemu.sh: unknown argument '$1'" ;;
    esac
done
for i in "${!per_card_args[@]}" "${!linked[@]}"; do
    [ "$i" -lt "$cards" ] || die "run-qemu.sh: card $i named (--card-args/--link), but only $cards card(s) (--cards N)"
done
for f in "$kernel" "$device"; do [ -f "$f" ] || die "run-qemu.sh: missing file '$f' (build first: make qemu-test)"; done
[ $initrd_later = 1 ] || [ -f "$initrd" ] || die "run-qemu.sh: missing file '$initrd' (build first: make qemu-test)"
# await_initrd: returns once the caller's CPIO is in place (--initrd-later).
await_initrd() {
    local waited=0
    until [ -f "$initrd" ]; do
        kill -0 "$PPID" 2>/dev/null || die "run-qemu.sh: the caller went before $initrd was built"
        [ $waited -lt 36000 ] || die "run-qemu.sh: $initrd did not appear within an hour"
        sleep 0.1; waited=$((waited + 1))
    done
}
mkdir -p "$log_dir"
# One guest at a time on this machine (the lock goes when this script exits).
hold_machine_lock "$CACHE_DIR/guest.lock" "another guest (make qemu-test, qemu-run, ...)"

sock_dir=$(mktemp -d "${TMPDIR:-/tmp}/cardless.XXXXXX")
chmod 700 "$sock_dir"
pids=()
# shellcheck disable=SC2317 # reached through the EXIT trap, which shellcheck 0.9 does not follow
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$sock_dir"
    exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

# --- the cards
# Starts "$@" logging to $2 and waits for it to open socket $1.
start_listener() {
    local sock=$1 log=$2; shift 2
    "$@" >"$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$sock" ] && break; kill -0 "${pids[-1]}" 2>/dev/null || break; sleep 0.05; done
    [ -S "$sock" ] || { tail -n 20 "$log" >&2; die "'$*' did not open $sock (log: $log)"; }
}
rm -f "$log_dir"/device*.pid "$log_dir/qmp.path"
card_args=() card_json=()
for i in $(seq 0 $((cards - 1))); do
    sock=$sock_dir/card$i.sock
    # shellcheck disable=SC2086 # the card options are strings of words, split on purpose
    start_listener "$sock" "$log_dir/device$i.log" "$device" --socket "$sock" $device_args ${per_card_args[$i]:-}
    echo "${pids[-1]}" >"$log_dir/device$i.pid"
    if [ -n "${linked[$i]:-}" ]; then
        start_listener "$sock_dir/card$i.link.sock" "$log_dir/link$i.log" \
            "$device" link --listen "$sock_dir/card$i.link.sock" --server "$sock"
        sock=$sock_dir/card$i.link.sock
    fi
    card_json+=("{\"driver\":\"vfio-user-pci\",\"id\":\"card$i\",\"bus\":\"rp$i\",\"socket\":{\"path\":\"$sock\",\"type\":\"unix\"}}")
    card_args+=(-device "${card_json[-1]}")
done

# --- the accelerator: KVM only where a probe boot succeeded (cached per kernel)
if [ "$accel" = auto ]; then
    accel=tcg
    if [ -w /dev/kvm ]; then
        probe=$CACHE_DIR/kvm-probe-$(sha256sum "$kernel" | cut -c1-16)
        if [ ! -e "$probe" ]; then
            note "probing KVM with a short boot (once per kernel)"
            # KVM works if the kernel boots to its panic (no init) within
            # 30 s. One that cannot run it (here: a software virtualiser,
            # no vmx/svm) prints nothing at all, where a working one prints
            # the kernel's first lines at once: 10 s of silence ends the
            # probe (it took the whole 30 s of every cold run before).
            "$SCRIPTS_DIR/qemu.sh" -accel kvm -cpu host -m 256 -nodefaults -display none -no-reboot \
                -serial stdio -kernel "$kernel" -append "console=ttyS0 panic=-1 rdinit=/bin/none" \
                >"$sock_dir/kvm-probe.log" 2>&1 &
            probe_qemu=$!
            pids+=("$probe_qemu")
            found=tcg
            for tenth in $(seq 300); do
                grep -q "Kernel panic" "$sock_dir/kvm-probe.log" && { found=kvm; break; }
                kill -0 "$probe_qemu" 2>/dev/null || break
                [ "$tenth" -lt 100 ] || [ -s "$sock_dir/kvm-probe.log" ] || break
                sleep 0.1
            done
            kill "$probe_qemu" 2>/dev/null || true
            wait "$probe_qemu" 2>/dev/null || true
            echo "$found" >"$probe"
        fi
        accel=$(cat "$probe")
    fi
fi
case "$accel" in
    kvm) accel_args=(-accel kvm -cpu host) ;;
    # la57=off: 4-level paging, as on most hosts (a 5-level guest showed an
    # early-boot KASAN report under TCG unrelated to the driver)
    tcg) accel_args=(-accel tcg -cpu "max,la57=off") ;;
    *) die "ACCEL must be auto, tcg or kvm (got '$accel')" ;;
esac
echo "$accel" >"$log_dir/accel"

# A 16 MiB RAM carve-out at 384 MiB for the carveout strategy (memmap=...$...
# reserves it: no struct page use, no allocator), and an address at 1 GiB
# where nothing answers (guest RAM is 512 MiB; the PCI window starts higher).
carveout="memmap=16M\$0x18000000 cardless.carveout_base=0x18000000 cardless.carveout_size=0x1000000 cardless.unbacked_base=0x40000000"
# oops=panic: an Oops (a driver's BUG, a Rust panic) ends the run at once
# (panic=-1 with -no-reboot: QEMU exits) with the report on the console;
# the task that oopsed may die holding mmap_lock or a driver lock, and
# everything after it would hang until the run's timeout.
# acpi=noirq: PCI INTx is routed from the MP table, not ACPI's _PRT: the
# debug kernel's AML interpreter takes 1-1.9 s under TCG to evaluate q35's
# _PRT at every device enable (each card's probe, every run), against 4 ms.
# INTx still works that way (checked: with pci=nomsi a card gets IRQ 10
# through its root port and streams verified records on INTx); MSI and
# MSI-X do not use it.
# page_poison=1: a freed page is filled, and checked when it is handed out
# again: a write through a stale user mapping or a late DMA into a freed
# buffer is reported ("pagealloc: memory corruption").
# DEBUG_PAGEALLOC is built in but off (GUEST_APPEND=debug_pagealloc=on):
# the kernel accesses to freed pages it finds, KASAN finds too, and it cost
# half of every page allocation under TCG (README, "Edit loop": the numbers).
append="console=ttyS0 oops=panic panic=-1 acpi=noirq cardless.mode=$mode cardless.accel=$accel page_poison=1 $carveout"

iommu_args=()
case "${IOMMU:-0}" in
    0) ;;
    # A guest IOMMU (VT-d): the driver's DMA addresses become IOVAs, and QEMU
    # sends the card a DMA_MAP/DMA_UNMAP per guest mapping. caching-mode=on
    # is what lets QEMU see each mapping (vfio needs it); interrupt
    # remapping stays off (it needs kernel-irqchip=split under KVM and the
    # card's MSI-X does not need it). strict: unmap at once, not batched,
    # so a stale IOVA the card uses is a fault, not a silent hit.
    # forcedac: IOVAs above 4 GiB, so a driver that drops the high half of
    # a DMA address (RING_BASE_HI, STATUS_ADDR_HI) is caught.
    1) iommu_args=(-device "intel-iommu,caching-mode=on,intremap=off")
       append+=" intel_iommu=on iommu.strict=1 iommu.forcedac=1" ;;
    *) die "IOMMU must be 0 or 1 (got '$IOMMU')" ;;
esac
# IRQ=intx: every PCI function interrupts through INTx (pci=nomsi), routed
# from the MP table (acpi=noirq above): the driver's shared-line path.
case "${IRQ:-msi}" in
    msi) ;;
    intx) append+=" pci=nomsi" ;;
    *) die "IRQ must be msi or intx (got '$IRQ')" ;;
esac
append+=" ${GUEST_APPEND:-}"
# The machine without the run's kernel, cards and disk (a saved guest's key).
machine_args=(
    "${accel_args[@]}" -smp 2 -nodefaults -no-reboot -display none
    -object "memory-backend-memfd,id=mem,size=${GUEST_MEM:-512M},share=on"
    # No PS/2 controller (the kernel's i8042 and mouse probe cost seconds
    # under TCG), no AHCI, SMBus or VMware port the guest has no driver for.
    -machine "q35,memory-backend=mem,i8042=off,sata=off,smbus=off,vmport=off"
    # before any PCI device, so every one of them sits behind it
    "${iommu_args[@]}"
    # Native PCIe hotplug (pciehp) on the root ports, not ACPI hotplug: the
    # guest kernel has HOTPLUG_PCI_PCIE (device_del of a card).
    -global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off
)
# The scratch disk: blank and raw, for the suite's and the benchmark's
# O_DIRECT from mapped buffers (a block device, whose direct I/O takes the
# buffer's pages with get_user_pages as a filesystem's does; tmpfs would copy
# through the page cache). The guest finds it by its serial
# (guest-driver/tests/src/scratch.rs); each QEMU gets a fresh file.
machine_args+=(-device "virtio-blk-pci,id=scratch,drive=scratch,serial=cardless-scratch")
scratch_drive() {
    rm -f "$log_dir/scratch.disk"; truncate -s 32M "$log_dir/scratch.disk"
    echo "file=$log_dir/scratch.disk,if=none,format=raw,id=scratch,cache=none"
}
# one PCIe root port per card, so each can be hot-unplugged
for i in $(seq 0 $((cards - 1))); do
    machine_args+=(-device "pcie-root-port,id=rp$i,chassis=$((i + 1)),slot=$((i + 1))")
done
# shellcheck disable=SC2206 # QEMU_EXTRA is a string of QEMU options, split into words on purpose
machine_args+=(${QEMU_EXTRA:-})

# Boot once, restore many (snapshot.sh): test and cmd runs restore a saved
# guest, hot-add the cards and give it a disk with the run's files; RESTORE=0
# boots instead, as an interactive run always does.
restore=${RESTORE:-1}
[ "$mode" != run ] || restore=0
if [ "$restore" = 1 ]; then
    snap_append=$(snapshot_append "$append")
    # and the run's disk (its file is not part of the key: each run has its
    # own), which the guest finds by its serial (initramfs/await-run)
    snap_args=("${machine_args[@]}" -device "virtio-blk-pci,id=run-disk,drive=run-disk,serial=cardless-run")
    snap=$(snapshot_dir "$kernel" "$snap_append" "${snap_args[@]}")
    if [ -e "$snap/unusable" ]; then
        note "booting: QEMU could not save a guest with these options ($(head -n 1 "$snap/unusable"); $snap/unusable)"
        restore=0
    elif [ ! -e "$snap/guest.mig" ] && ! { await_initrd; snapshot_make "$snap" "$kernel" "$initrd" "$snap_append" "${snap_args[@]}" \
        -drive "file=$(snapshot_blank_disk "$log_dir/blank.disk"),if=none,format=raw,id=run-disk" \
        -drive "$(scratch_drive)"; }; then
        note "booting instead of restoring (no saved guest: ${snap})"
        restore=0
    fi
fi

if [ "$restore" = 1 ]; then
    # The run's disk: blank until the run's files are written into it (in
    # place: QEMU holds it open), before the guest starts or, with
    # --initrd-later, while it enumerates its cards.
    disk=$(snapshot_blank_disk "$log_dir/run.disk")
    [ $initrd_later = 1 ] || run_disk "$initrd" "$append" "$disk" "$snap/initramfs.cpio"
    qemu_args=("${snap_args[@]}" -kernel "$kernel" -initrd "$snap/initramfs.cpio" -append "$snap_append"
        -drive "file=$disk,if=none,format=raw,id=run-disk,cache=none" -drive "$(scratch_drive)" -incoming defer)
    # The console log goes on from the saved guest's boot (judged with the run).
    cp "$snap/console.log" "$log_dir/console.log"
    console_arg=(-chardev "file,id=console,path=$log_dir/console.log,append=on" -serial chardev:console)
else
    await_initrd
    qemu_args=("${machine_args[@]}" -kernel "$kernel" -initrd "$initrd" -append "$append")
    qemu_args+=(-drive "$(scratch_drive)")
    qemu_args+=("${card_args[@]}")
    console_arg=(-serial "file:$log_dir/console.log")
fi

if [ "$mode" = run ]; then
    note "guest console follows; Ctrl-A X quits QEMU"
    "$SCRIPTS_DIR/qemu.sh" "${qemu_args[@]}" -serial mon:stdio -serial null
    exit $?
fi

timing_mark host "QEMU started"
"$SCRIPTS_DIR/qemu.sh" "${qemu_args[@]}" \
    "${console_arg[@]}" -serial "file:$log_dir/results.log" \
    -qmp "unix:$sock_dir/qmp.sock,server=on,wait=off" \
    >"$log_dir/qemu.log" 2>&1 &
qemu=$!
pids+=("$qemu")
echo "$sock_dir/qmp.sock" >"$log_dir/qmp.path"
timing_watch_guest "$log_dir/console.log" "$log_dir/results.log" "$qemu" &
watcher=$!
pids+=("$watcher")
if [ "$restore" = 1 ]; then
    restore_start=$EPOCHREALTIME
    hot_add_args=()
    for dev in "${card_json[@]}"; do hot_add_args+=(--hot-add "$dev"); done
    "$QMP_BIN" --socket "$sock_dir/qmp.sock" --restore "$snap/guest.mig" "${hot_add_args[@]}" ||
        { tail -n 20 "$log_dir/qemu.log" >&2; die "restoring the saved guest $snap failed (above; RESTORE=0 boots instead)"; }
    timing_mark host "restored; cards hot-added"
    note "restored the saved guest $(basename "$snap") and hot-added $cards card(s) in $(awk "BEGIN { printf \"%.2f\", $EPOCHREALTIME - $restore_start }") s"
    # The guest learns each step from its disk's size (initramfs/await-run):
    # a MiB more, its cards are there; two, its disk holds the run's files.
    grow_disk 1
    if [ $initrd_later = 1 ]; then
        await_initrd
        run_disk "$initrd" "$append" "$disk" "$snap/initramfs.cpio"
        timing_mark host "the run's disk written"
    fi
    grow_disk 2
    timing_mark host "the guest told its disk is ready (block_resize)"
fi
# Show the results as they arrive: the suite's progress, or the command's output.
if [ "$mode" = cmd ]; then
    tail --pid="$qemu" -n +1 -F "$log_dir/results.log" 2>/dev/null | grep --line-buffered -v '^cardless-guest-exit:' &
else
    tail --pid="$qemu" -n +1 -F "$log_dir/results.log" 2>/dev/null | sed -u 's/^/    guest: /' >&2 &
fi
start=$SECONDS
while kill -0 "$qemu" 2>/dev/null; do
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
        note "guest did not finish within $timeout s; stopping it (console: $log_dir/console.log)"
        exit 124
    fi
    sleep 0.2
done
wait "$qemu"; rc=$?
exited=$EPOCHREALTIME
wait "$watcher" 2>/dev/null || true  # it has stamped the guest's last lines
timing_mark host "QEMU exited" - "$exited"
[ $rc -eq 0 ] || { tail -n 20 "$log_dir/qemu.log" >&2; die "QEMU exited with status $rc (log: $log_dir/qemu.log)"; }
exit 0
