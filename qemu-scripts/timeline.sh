#!/usr/bin/env bash
# make timeline [TRACE=FILE]: a card's trace as a timeline, Chrome/Perfetto
# JSON (open it in ui.perfetto.dev or chrome://tracing) and a PNG rendered
# by the device itself. Default trace: the last zoo-test's card 0.
source "$(dirname "$0")/lib.sh"

trace=${TRACE:-$BUILD_DIR/zoo/card0.trace}
[ -f "$trace" ] || die "no trace at '$trace': record one (make zoo-test, or DEVICE_ARGS='--deterministic --trace FILE') or name it with TRACE=FILE"
# (the harness's build of it: the one a run used, seconds when up to date)
harness_cargo_build -p cardless-device || die "the device server did not build (see the errors above)"
out_dir=$BUILD_DIR/timeline
mkdir -p "$out_dir"
name=$(basename "$trace" .trace)
step "rendering $trace"
"$HARNESS_BIN_DIR/cardless-device" timeline "$trace" -o "$out_dir/$name.json" --png "$out_dir/$name.png" --axis event ||
    die "the timeline could not be written from '$trace' (see the error above)"
note "Perfetto / chrome://tracing JSON: $out_dir/$name.json"
note "PNG:                              $out_dir/$name.png"
