#!/usr/bin/env bash
# The module under test, staged into STAGE (an initramfs overlay) for a
# guest run; prints the module's directory.
#
#   guest-module.sh STAGE [--tests-optional]
#
# M=DIR (Kbuild's convention; default guest-driver/module, the project's own
# module, which build.sh has built) names an out-of-tree module directory,
# C or Rust; a relative DIR is taken from where make was run. The overlay:
#   DIR/guest/...          copied over the guest's root first
#   /lib/modules/NAME.ko   every module the build made, listed in
#                          /etc/cardless-modules (loaded in that order)
#   /tests                 DIR/tests/, plus the programs its Kbuild built
#                          there (userprogs: e.g. a static C test)
#   /etc/cardless-test     the command /init runs in /tests: TEST='...',
#                          default ./run
source "$(dirname "$0")/lib.sh"

stage=${1:?usage: guest-module.sh STAGE [--tests-optional]}
tests_optional=0
[ "${2:-}" = --tests-optional ] && tests_optional=1
own=$REPO_DIR/guest-driver/module

dir=$(module_dir)

if [ "$dir" = "$own" ]; then
    out=$BUILD_DIR/module
else
    out=$("$SCRIPTS_DIR/build-module.sh" "$dir")
fi

mkdir -p "$stage/etc" "$stage/lib/modules" "$stage/tests"
[ -d "$dir/guest" ] && cp -a "$dir/guest/." "$stage/"
: >"$stage/etc/cardless-modules"
for ko in "$out"/*.ko; do
    cp "$ko" "$stage/lib/modules/"
    echo "/lib/modules/${ko##*/}" >>"$stage/etc/cardless-modules"
done
[ -d "$dir/tests" ] && cp -a "$dir/tests/." "$stage/tests/"
[ -d "$out/tests" ] && find "$out/tests" -maxdepth 1 -type f -perm -u+x -exec cp {} "$stage/tests/" \;

if [ -n "${TEST:-}" ]; then
    printf '%s\n' "$TEST" >"$stage/etc/cardless-test"
elif [ -x "$stage/tests/run" ]; then
    echo ./run >"$stage/etc/cardless-test"
elif [ -e "$stage/tests/run" ]; then
    die "M=$dir: tests/run is not executable (chmod +x it, or build it from its tests/ Kbuild)"
elif [ $tests_optional = 0 ]; then
    die "M=$dir has no tests/run: give it an executable tests/run (a script or a static binary), a tests/ Kbuild that builds one (userprogs, see guest-driver/examples/c-streaming), or name a command with TEST='...'"
fi
note "module under test: $(basename -a "$out"/*.ko | tr '\n' ' ')from $dir"
echo "$dir"
