#!/usr/bin/env bash
# Builds the out-of-tree kernel module in DIR (C or Rust, Kbuild's M=
# convention) against the cached guest kernel of the chosen flavour, into
# the build directory (MO=), leaving DIR clean. Prints the output directory.
#
#   build-module.sh DIR [OUT]   (OUT default: build/modules/<name>-<hash of DIR>)
#
# Fails in the user's terms: which directory, which kernel, the compiler's
# errors (all of them, then the log's path).
source "$(dirname "$0")/lib.sh"
source "$SCRIPTS_DIR/kbuild-replay.sh"

dir=${1:?usage: build-module.sh DIR [OUT]}
[ -d "$dir" ] || die "M=$dir: no such directory"
dir=$(cd "$dir" && pwd)
[ -f "$dir/Kbuild" ] || [ -f "$dir/Makefile" ] ||
    die "M=$dir has no Kbuild or Makefile: an out-of-tree module directory needs one (obj-m := yourdriver.o)"
out=${2:-$BUILD_DIR/modules/$(basename "$dir")-$(printf '%s' "$dir" | sha_of)}
case "$out/" in "$dir"/*) die "the build directory $out is inside M=$dir, which must stay clean" ;; esac

kdir=$("$SCRIPTS_DIR/build-kernel.sh")
src=$(kernel_src_dir)
mkdir -p "$out"
log=$out/build.log
step "building the module in $dir against the $KERNEL kernel ($(basename "$src"))"
failed() {
    # The compiler's own words, then where the rest is.
    compiler_words "$log" 80
    die "your module in $dir did not build against the $KERNEL kernel (compiler errors above; full log: $log)"
}
# The edit loop: kbuild's recorded commands again, without its start-up
# (kbuild-replay.sh says when that is exact); otherwise kbuild itself.
replayed=0
kbuild_replay "$out" "$kdir" "$dir" >"$log" 2>&1 || replayed=$?
case $replayed in
    0) note "rebuilt by replaying kbuild's recorded commands (kbuild-replay.sh)" ;;
    2) failed ;;
    *) rm -f "$out/.cardless-replay"
       # run-command: kbuild's exported environment, for the replays (in
       # the same make: no second round of compiler probes).
       kernel_make "$src" O="$kdir" M="$dir" MO="$out" modules \
           run-command KBUILD_RUN_COMMAND="env -0 >$out/.cardless-replay-env" >"$log" 2>&1 || failed
       replay_record "$out" "$kdir" "$dir" ;;
esac
grep -E 'warning:' "$log" >&2 || true
ls "$out"/*.ko >/dev/null 2>&1 || die "the build of $dir produced no .ko in $out (does its Kbuild say obj-m := name.o?); log: $log"
echo "$out"
