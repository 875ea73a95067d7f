#!/usr/bin/env bash
# make clippy-module: the kernel's own clippy (kbuild's CLIPPY=1, with the
# kernel's lint set and .clippy.toml) over the module under test (M=DIR,
# default the project's), built into a scratch directory. Fails on any
# warning, as `cargo clippy -- -D warnings` does for the workspace. Needs
# the guest kernel (built on first use, like make qemu-test).
source "$(dirname "$0")/lib.sh"
"$SCRIPTS_DIR/setup.sh"
kdir=$("$SCRIPTS_DIR/build-kernel.sh")
dir=$(module_dir)
out=$BUILD_DIR/module-clippy
log=$out/clippy.log
rm -rf "$out"; mkdir -p "$out"
step "clippy with the kernel's lints over $dir"
kernel_make "$(kernel_src_dir)" O="$kdir" M="$dir" MO="$out" CLIPPY=1 modules >"$log" 2>&1 ||
    { compiler_words "$log" 80; die "$dir did not build under clippy (full log: $log)"; }
warnings=$(grep -c '^warning' "$log" || true)
if [ "$warnings" -gt 0 ]; then
    compiler_words "$log" 120
    die "clippy: $warnings warning line(s) about $dir (above; full log: $log)"
fi
note "no warnings"
