#!/usr/bin/env bash
# The host's half of the guest's card_death suite (see
# guest-driver/tests/src/suite_card_death.rs), run beside a two-card guest:
#   card-death-host.sh RUN_DIR PARENT_PID
# It watches the guest's results for the suite's cues and acts:
#   "card-death: unplug card 1"  -> QMP device_del of card 1 (hot-unplug)
#   "card-death: streaming"      -> SIGKILL of card 0's server (its link
#                                   keeps QEMU's socket and answers all-ones)
# and stops when PARENT_PID (the run) ends.
source "$(dirname "$0")/lib.sh"

run_dir=$1 parent=$2
unplugged=0
while kill -0 "$parent" 2>/dev/null; do
    if [ $unplugged = 0 ] && grep -q "card-death: unplug card 1" "$run_dir/results.log" 2>/dev/null; then
        unplugged=1
        if "$QMP_BIN" --socket "$(cat "$run_dir/qmp.path")" device_del '{"id": "card1"}' >/dev/null; then
            note "host: asked QEMU to unplug card 1 (device_del)"
        else
            note "host: QEMU refused to unplug card 1 (above); the guest's case will time out"
        fi
    fi
    if grep -q "card-death: streaming" "$run_dir/results.log" 2>/dev/null; then
        pid=$(cat "$run_dir/device0.pid")
        kill -9 "$pid" && note "host: killed card 0's server (pid $pid) with SIGKILL; its link answers"
        exit 0
    fi
    sleep 0.1
done
