#!/usr/bin/env bash
# The guest survives the card dying (make card-death-test): boots two cards,
# runs the guest's card_death suite, and does the host's half of it:
#  1. when the guest holds card 1 open and mapped, hot-unplug card 1 with
#     QMP device_del;
#  2. when the guest streams from card 0, SIGKILL card 0's server (known to
#     abort QEMU 11.1 itself, see the note below: not in CI).
# Then judges the run like qemu-test (KTAP results + console splats).
source "$(dirname "$0")/lib.sh"

"$SCRIPTS_DIR/build.sh"
source "$BUILD_DIR/paths.env"
run_dir=$BUILD_DIR/card-death
rm -rf "$run_dir"; mkdir -p "$run_dir"
private=$(mktemp -d)
trap 'rm -rf "$private"' EXIT

extra=$(mktemp -d); mkdir -p "$extra/etc"; echo "card_death" >"$extra/etc/cardless-filter"
(cd "$extra" && find . | cpio -o -H newc --quiet) | cat "$INITRAMFS" - >"$run_dir/initramfs.cpio"
rm -rf "$extra"

step "booting two cards; the guest streams, the host kills and unplugs"
TMPDIR=$private "$SCRIPTS_DIR/run-qemu.sh" --kernel "$KERNEL_IMAGE" --initrd "$run_dir/initramfs.cpio" \
    --device "$DEVICE_BIN" --log-dir "$run_dir" --mode test --cards 2 --timeout "${TIMEOUT:-900}" &
runner=$!

wait_for() {
    local pattern=$1
    for _ in $(seq 6000); do
        grep -q "$pattern" "$run_dir/results.log" 2>/dev/null && return 0
        kill -0 "$runner" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

qmp() {
    python3 - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()  # greeting
for cmd in ({"execute": "qmp_capabilities"}, json.loads(sys.argv[2])):
    f.write(json.dumps(cmd) + "\n"); f.flush()
    while True:
        reply = json.loads(f.readline())
        if "return" in reply or "error" in reply:
            break
    if "error" in reply:
        sys.exit("QMP error: %s" % reply["error"])
PY
}

if wait_for "card-death: unplug card 1"; then
    qmp "$(ls "$private"/cardless.*/qmp.sock)" '{"execute": "device_del", "arguments": {"id": "card1"}}' &&
        note "asked QEMU to unplug card 1 (device_del)"
fi
# Last: QEMU 11.1's vfio-user client aborts (error_setv assertion) when a
# server dies while the guest drives the card.
if wait_for "card-death: streaming"; then
    pid=$(pgrep -f "cardless-device --socket $private/.*/card0.sock" || true)
    [ -n "$pid" ] && kill -9 "$pid" && note "killed card 0's server (pid $pid) with SIGKILL"
fi
set +e
wait "$runner"
set -e

step "verdict"
(cd "$REPO_DIR" && cargo build --release --quiet -p cardless-verdict)
"$REPO_DIR/target/release/cardless-verdict" --results "$run_dir/results.log" --console "$run_dir/console.log"
