#!/usr/bin/env bash
# make compile-commands M=DIR: builds DIR's module (build-module.sh) and has
# Kbuild write the compile_commands.json of that build (the cached kernel's
# include paths and flags, exactly as the module compiles), for clangd and
# editors. Prints where it is and how to point DIR at it.
source "$(dirname "$0")/lib.sh"

dir=$(module_dir)
out=$("$SCRIPTS_DIR/build-module.sh" "$dir")
kernel_make "$(kernel_src_dir)" O="$("$SCRIPTS_DIR/build-kernel.sh")" M="$dir" MO="$out" \
    compile_commands.json >>"$out/build.log" 2>&1 ||
    die "Kbuild did not write compile_commands.json (log: $out/build.log)"
note "clangd and most editors look for it in the source tree:"
note "  ln -sf $out/compile_commands.json $dir/compile_commands.json"
echo "$out/compile_commands.json"
