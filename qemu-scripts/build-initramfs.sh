#!/usr/bin/env bash
# Packs the guest's initramfs: busybox-static, the driver module, the guest
# test programs and /init. Usage: build-initramfs.sh OUT.cpio MODULE.ko|"" TESTS_DIR
source "$(dirname "$0")/lib.sh"

out=$1 module=$2 tests_dir=$3
busybox=$(busybox_path)

# Nothing to do when no input (this script too) changed since OUT was
# packed (name, size and mtime to the nanosecond of each; 0.3 s of every
# edit-loop run otherwise).
programs=("${GUEST_PROGRAMS[@]/#/$tests_dir/}")
for prog in "${programs[@]}"; do
    [ -x "$prog" ] || die "no guest program $prog (build.sh builds them; GUEST_PROGRAMS in lib.sh names them)"
done
inputs=("$busybox" "$SCRIPTS_DIR"/initramfs/* "$0" "${programs[@]}")
[ -z "$module" ] || inputs+=("$module")
key=$(stat -c '%n %s %.9Y' "${inputs[@]}" | sha_of)
if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
    exit 0
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,etc,proc,sys,dev,tmp,root,lib/modules}
cp "$busybox" "$stage/bin/busybox"
cp "$SCRIPTS_DIR/initramfs/init" "$stage/init"
cp "$SCRIPTS_DIR/initramfs/await-run" "$stage/bin/cardless-await-run"
cp "$SCRIPTS_DIR/initramfs/load-modules" "$stage/bin/cardless-load-modules"
chmod 755 "$stage/init" "$stage/bin/cardless-await-run" "$stage/bin/cardless-load-modules"
[ -z "$module" ] || cp "$module" "$stage/lib/modules/cardless.ko"
# Without their debug info (std's most of all): 29 MB of the three become
# 6, which the guest unpacks at boot and, when a program changed since the
# saved guest, from the run's disk (11.7 MB took 5.8 s there under TCG).
# Symbols and panic locations stay.
for prog in "${programs[@]}"; do
    strip --strip-debug -o "$stage/bin/${prog##*/}" "$prog" || die "cannot strip $prog (binutils: run 'make setup')"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$stage/etc/passwd"
(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$key" >"$out.key"
