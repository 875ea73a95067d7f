#!/usr/bin/env bash
# Packs the guest's initramfs: busybox-static, the driver module, the guest
# test programs and /init. Usage: build-initramfs.sh OUT.cpio MODULE.ko|"" TESTS_DIR
source "$(dirname "$0")/lib.sh"

out=$1 module=$2 tests_dir=$3
busybox=$(busybox_path)

# Nothing to do when no input changed since OUT was packed (name, size and
# mtime to the nanosecond of each; 0.3 s of every edit-loop run otherwise).
inputs=("$busybox" "$SCRIPTS_DIR"/initramfs/* "$tests_dir"/cardless-* "$tests_dir"/cardlessctl)
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
for prog in "$tests_dir"/cardless-* "$tests_dir"/cardlessctl; do
    [ -x "$prog" ] && cp "$prog" "$stage/bin/"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$stage/etc/passwd"
(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$key" >"$out.key"
