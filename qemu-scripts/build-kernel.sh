#!/usr/bin/env bash
# Builds the guest kernel (tinyconfig + kconfig/base.config + kconfig/$KERNEL.config)
# into the cache, keyed by every input, so it rebuilds exactly when one changes.
# Prints the kernel build directory (bzImage at arch/x86/boot/bzImage; modules
# build against it with M=).
source "$(dirname "$0")/lib.sh"

flavours() {
    local f
    for f in "$SCRIPTS_DIR"/kconfig/*.config; do
        f=$(basename "$f" .config)
        [ "$f" = base ] || printf '%s ' "$f"
    done
}
[ -f "$SCRIPTS_DIR/kconfig/$KERNEL.config" ] || die "unknown KERNEL=$KERNEL; use one of: $(flavours)"
src=$(kernel_src_dir)
out=$(kernel_dir)
# Every use marks the build, so pruning spares kernels other checkouts use.
if [ -e "$out/.complete" ]; then touch "$out/.last-used"; echo "$out"; exit 0; fi
hold_machine_lock "$CACHE_DIR/kernel/.build.lock" "another kernel build"
# It may have been this very kernel.
if [ -e "$out/.complete" ]; then touch "$out/.last-used"; echo "$out"; exit 0; fi

step "building the $KERNEL guest kernel $(basename "$src") with clang-$LLVM_VERSION into $out (about 10 minutes on 2 cores)"
rm -rf "$out"; mkdir -p "$out"
log=$CACHE_DIR/logs/kernel-$KERNEL.log
kernel_make "$src" O="$out" rustavailable >"$log" 2>&1 ||
    { cat "$log" >&2; die "the kernel says Rust is not available with this toolchain (see above)"; }
{
    kernel_make "$src" O="$out" tinyconfig
    "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
        "$SCRIPTS_DIR/kconfig/base.config" "$SCRIPTS_DIR/kconfig/$KERNEL.config"
    # Without the stale auto.conf tinyconfig left, olddefconfig writes the
    # build's own (include/config, generated/): the build then skips its
    # syncconfig, a fourth reading of every Kconfig file (~5 s).
    rm -f "$out/include/config/auto.conf"
    kernel_make "$src" O="$out" olddefconfig
} >>"$log" 2>&1

# Every option the fragments ask for must survive olddefconfig (a silently
# dropped KASAN or RUST is worse than a failed build).
missing=$(grep -hE '^CONFIG_' "$SCRIPTS_DIR/kconfig/base.config" "$SCRIPTS_DIR/kconfig/$KERNEL.config" |
    while IFS= read -r want; do
        opt=${want%%=*}; val=${want#*=}
        if [ "$val" = n ]; then
            grep -q "^$opt=" "$out/.config" && echo "$want"
        else
            grep -qx "$want" "$out/.config" || echo "$want"
        fi
    done || true)
[ -z "$missing" ] || die "kconfig dropped options the fragments require (a dependency is missing): ${missing//$'\n'/ }"

# Progress: one line per ~200 compiled objects.
start=$SECONDS
if ! kernel_make "$src" O="$out" -j"$(nproc)" bzImage modules 2>&1 | tee -a "$log" |
    awk '/^  [A-Z]/ { n++; if (n % 200 == 0) { printf "    %d objects built\n", n > "/dev/stderr"; fflush("/dev/stderr") } }'; then
    tail -n 40 "$log" >&2; die "kernel build failed; full log: $log"
fi
[ -f "$out/arch/x86/boot/bzImage" ] || { tail -n 40 "$log" >&2; die "kernel build produced no bzImage; full log: $log"; }
note "kernel built in $((SECONDS - start)) s"
touch "$out/.complete"
touch "$out/.last-used"
# Keep the newest two builds of each flavour, and any other one a checkout
# used in the last day (two branches on one machine each keep theirs).
newest_first "$CACHE_DIR/kernel" -name "$KERNEL-*" | tail -n +3 | while IFS= read -r old; do
    [ -n "$(find "$old/.last-used" -mmin -1440 2>/dev/null)" ] || rm -rf "$old"
done
echo "$out"
