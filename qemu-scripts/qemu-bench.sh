#!/usr/bin/env bash
# make qemu-bench: boots the guest with the card and QEMU's built-in `edu`
# device (the baseline for register latency), runs cardless-bench in it, and
# turns its JSON into build/bench/{bench.json,report.md,*.svg} and the
# generated parts of docs/mapping-guide.md (the tables and the figures of each
# answer to the seeds' questions). Fails if a figure could not be measured.
# Numbers are machine- and accelerator-specific: every table, sentence and
# plot says which accelerator produced it. ACCEL=kvm works where KVM does.
source "$(dirname "$0")/lib.sh"
hold_checkout_lock

"$SCRIPTS_DIR/build.sh"
# shellcheck source=/dev/null # build/paths.env is written by build.sh
source "$BUILD_DIR/paths.env"
out=$BUILD_DIR/bench
rm -rf "$out"; mkdir -p "$out"

extra=$(mktemp -d); mkdir -p "$extra/etc"; echo "cardless-bench" >"$extra/etc/cardless-cmd"
initramfs_with "$out/initramfs.cpio" "$extra"
rm -rf "$extra"

step "booting the guest with the card and edu, running the benchmark (several minutes under TCG)"
set +e
QEMU_EXTRA="-device edu" "$SCRIPTS_DIR/run-qemu.sh" --kernel "$KERNEL_IMAGE" --initrd "$out/initramfs.cpio" \
    --device "$DEVICE_BIN" --log-dir "$out" --mode cmd --cards 1 --timeout "${TIMEOUT:-2400}" \
    --device-args "${DEVICE_ARGS:-}" >"$out/bench-output.txt"
rc=$?
set -e
[ $rc -eq 0 ] || die "the benchmark guest failed (status $rc; console: $out/console.log)"
tr -d '\r' <"$out/results.log" | sed -n '/^BENCH-JSON-BEGIN$/,/^BENCH-JSON-END$/p' | sed '1d;$d' >"$out/bench.json"
[ -s "$out/bench.json" ] || die "the benchmark printed no result (see $out/results.log and $out/console.log)"
# The figures are labelled with the accelerator the guest says it ran under;
# it must be the one this boot used (ACCEL=auto|tcg|kvm, see run-qemu.sh).
accel=$(cat "$out/accel")
grep -q "\"accel\":\"$accel\"" "$out/bench.json" ||
    die "bench.json does not say \"accel\":\"$accel\", the accelerator this boot used (see $out/results.log)"

step "report"
# (with the harness's flags: the crates it shares with the run's programs are built)
harness_cargo_build -p cardless-bench-report || die "the bench report did not build (see the errors above)"
"$HARNESS_BIN_DIR/cardless-bench-report" --json "$out/bench.json" --out-dir "$out" --guide "$REPO_DIR/docs/mapping-guide.md"
note "report: $out/report.md; plots: $out/*.svg; generated parts of docs/mapping-guide.md regenerated"
