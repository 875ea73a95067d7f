#!/usr/bin/env bash
# Packs the guest's initramfs: busybox-static, the driver module, the guest
# test programs and /init. Usage: build-initramfs.sh OUT.cpio MODULE.ko TESTS_DIR
source "$(dirname "$0")/lib.sh"

out=$1 module=$2 tests_dir=$3
busybox=$(busybox_path)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,etc,proc,sys,dev,tmp,root,lib/modules}
cp "$busybox" "$stage/bin/busybox"
cp "$SCRIPTS_DIR/initramfs/init" "$stage/init"
cp "$SCRIPTS_DIR/initramfs/await-run" "$stage/bin/cardless-await-run"
chmod 755 "$stage/init" "$stage/bin/cardless-await-run"
cp "$module" "$stage/lib/modules/cardless.ko"
for prog in "$tests_dir"/cardless-*; do
    [ -x "$prog" ] && cp "$prog" "$stage/bin/"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$stage/etc/passwd"
(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
