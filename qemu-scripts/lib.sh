# shellcheck shell=bash
# Variables here are for the scripts that source this file (shellcheck checks
# each file alone, so it cannot see them used):
# shellcheck disable=SC2034
# Shared by every qemu-scripts step: paths, versions, progress output.
# Source it; do not run it.

set -euo pipefail

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPTS_DIR/.." && pwd)

# Everything downloaded or built outside the repo lives here.
CACHE_DIR=${CARDLESS_CACHE:-$HOME/.cache/cardless}
# Per-checkout build outputs (module, initramfs, logs).
BUILD_DIR=${CARDLESS_BUILD:-$REPO_DIR/build}

# Pinned inputs. Changing one rebuilds what depends on it.
KERNEL_SERIES=7.2
KERNEL_PKG=linux-source-$KERNEL_SERIES
BINDGEN_VERSION=0.72.1
LLVM_VERSION=19
QEMU_SUITE=trixie
# Bump when build-kernel.sh changes how the kernel is built.
KERNEL_RECIPE=1
# flavour of the guest kernel: debug (KASAN, lockdep, ...) or fast
KERNEL=${KERNEL:-debug}

QEMU_ROOT=$CACHE_DIR/qemu-root
# The harness's programs (the card server, the QMP client, the verdict, the
# guest programs) build for one target with one set of flags, so the crates
# they share (clap, serde, ...) build once: static, as the guest (no C
# library) needs; an explicit --target keeps the proc macros dynamic.
HARNESS_TARGET=x86_64-unknown-linux-gnu
HARNESS_BIN_DIR=$REPO_DIR/target/$HARNESS_TARGET/release
harness_cargo_build() {
    (cd "$REPO_DIR" && RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build --release --quiet --target "$HARNESS_TARGET" "$@")
}
# The guest programs (guest-driver/tests/Cargo.toml's [[bin]]s), which the
# initramfs carries; the host's programs share their directory.
GUEST_PROGRAMS=(cardless-tests cardless-bench cardlessctl)
# The harness's QMP client (qemu-scripts/qmp; build.sh builds it).
QMP_BIN=$HARNESS_BIN_DIR/cardless-qmp
TOOLS_DIR=$CACHE_DIR/tools
BINDGEN=$TOOLS_DIR/bin/bindgen
export PATH="$TOOLS_DIR/bin:$HOME/.cargo/bin:$PATH"
export LIBCLANG_PATH=/usr/lib/llvm-$LLVM_VERSION/lib

source "$SCRIPTS_DIR/timing.sh"
step() { timing_mark host "$*"; printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a long command, showing a progress line per N lines of its output,
# and the tail of its log if it fails.
run_logged() {
    local log=$1; shift
    mkdir -p "$(dirname "$log")"
    local start=$SECONDS
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "'$*' failed after $((SECONDS - start)) s; full log: $log"
    fi
    note "done in $((SECONDS - start)) s (log: $log)"
}

# The mirror the host already uses (never hard-code another).
debian_mirror() {
    local uri
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$uri" ] || die "cannot find the host's Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    echo "${uri%/}"
}

# A private apt configuration that sees the newer suites without touching the
# host's own sources: used only to download packages, never to install them.
APT_PRIVATE=$CACHE_DIR/apt
apt_private() {
    apt-get -o Dir::Etc::SourceList="$APT_PRIVATE/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$APT_PRIVATE/lists" \
        -o Dir::Cache::Archives="$APT_PRIVATE/archives" \
        -o Dir::Cache="$APT_PRIVATE/cache" \
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

sha_of() { sha256sum | cut -c1-16; }

# compiler_words LOG N: the first N lines of a kbuild log that are the
# compiler's own words (kbuild's progress and make's chatter left out), to
# stderr.
compiler_words() {
    # (sed reads to the end: head would leave grep a closed pipe, SIGPIPE)
    grep -vE "^make(\[[0-9]+\])?: |^  [A-Z]+ " "$1" | sed -n "1,${2}p" >&2
}

# Ends a background job and everything it started (a subshell's cargo and
# its compilers), children first.
kill_tree() {
    local child
    for child in $(pgrep -P "$1" || true); do kill_tree "$child"; done
    kill "$1" 2>/dev/null || true
}

# newest_first DIR [FIND-TESTS...]: the entries of DIR (but hidden ones)
# passing FIND-TESTS, newest first, one a line, as ls -dt would list them.
newest_first() {
    local dir=$1; shift
    find "$dir" -mindepth 1 -maxdepth 1 ! -name '.*' "$@" -printf '%T@\t%p\n' 2>/dev/null | sort -rn | cut -f2-
}

# Takes an exclusive lock on FILE for the rest of this shell (fd 9), waiting
# with a message if someone else holds it. The machine has 2 cores: two
# kernel builds or two guests at once (from two checkouts, or a person and
# CI) would each run at half speed and time out, so they queue instead.
hold_machine_lock() {
    local file=$1 what=$2
    mkdir -p "$(dirname "$file")"
    exec 9>"$file"
    if ! flock -n 9; then
        note "waiting for $what to finish (lock: $file)"
        flock 9
    fi
}

# One run at a time per checkout: runs share build/ (the module's build,
# the initramfs, the run's logs), so a second one (another terminal, a
# script) waits instead of reading the first one's files. Held until the
# script exits; scripts it runs (zoo-test runs qemu-test) hold it with it.
hold_checkout_lock() {
    [ "${CARDLESS_CHECKOUT_LOCKED:-}" = "$BUILD_DIR" ] && return 0
    mkdir -p "$BUILD_DIR"
    exec 8>"$BUILD_DIR/.run.lock"
    if ! flock -n 8; then
        note "waiting for another run in this checkout to finish (lock: $BUILD_DIR/.run.lock)"
        flock 8
    fi
    export CARDLESS_CHECKOUT_LOCKED=$BUILD_DIR
}

apt_cache_private() {
    apt-cache -o Dir::Etc::SourceList="$APT_PRIVATE/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$APT_PRIVATE/lists" \
        -o Dir::Cache="$APT_PRIVATE/cache" "$@"
}

# Download one package version with the private apt view into $2 and unpack it there.
fetch_deb() {
    local pkgver=$1 dest=$2 tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && apt_private download "$pkgver" >/dev/null) ||
        { rm -rf "$tmp"; die "could not download $pkgver from the Debian archive; check the network or pick another version in qemu-scripts/lib.sh"; }
    mkdir -p "$dest"
    dpkg-deb -x "$tmp"/*.deb "$dest"
    rm -rf "$tmp"
}

# The static busybox the guest's initramfs carries.
busybox_path() {
    local busybox=/bin/busybox
    file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || busybox=$(command -v busybox)
    ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static; install busybox-static (make setup)"
    echo "$busybox"
}

rustc_version() { rustc --version | awk '{print $2}'; }

# The guest kernel's identity: every input that changes the build.
kernel_src_dir() { cat "$CACHE_DIR/src/current" 2>/dev/null || die "no kernel source yet; run 'make setup'"; }
kernel_key() {
    {
        basename "$(kernel_src_dir)"
        echo "$KERNEL"
        echo "recipe $KERNEL_RECIPE"
        cat "$SCRIPTS_DIR/kconfig/base.config" "$SCRIPTS_DIR/kconfig/$KERNEL.config"
        rustc --version
        "clang-$LLVM_VERSION" --version | head -1
        "$BINDGEN" --version
    } | sha_of
}
kernel_dir() { echo "$CACHE_DIR/kernel/$KERNEL-$(kernel_key)"; }
# Options every kernel and module build passes (clang for both flavours:
# KASAN with Rust needs it, and one compiler keeps the flavours comparable).
kernel_make() {
    local src=$1; shift
    make -C "$src" LLVM=-$LLVM_VERSION RUSTC=rustc BINDGEN="$BINDGEN" \
        RUST_LIB_SRC="$CACHE_DIR/src/rust-src-$(rustc_version)/usr/lib/rustlib/src/rust/library" "$@"
}

# The module under test (Kbuild's M=): $M, default the project's own
# module; a relative M is taken from where make was run, else the checkout.
module_dir() {
    local dir=${M:-$REPO_DIR/guest-driver/module} base
    case "$dir" in
        /*) ;;
        *) for base in "${CARDLESS_CALLER_DIR:-$PWD}" "$REPO_DIR"; do
               [ -d "$base/$dir" ] && { dir=$base/$dir; break; }
           done ;;
    esac
    [ -d "$dir" ] || die "M=$M: no such directory (a relative M is taken from where you ran make)"
    (cd "$dir" && pwd)
}

# initramfs_with OUT DIR: the built initramfs ($INITRAMFS, from
# build/paths.env) with the files of DIR (run options, another module) over
# it. One archive, not DIR's appended: the kernel unpacks concatenated
# archives, but a restored guest's run disk is made from this file by
# cpio -i (snapshot.sh run_disk), which stops at the first one (the run
# options, the tests and the module under test were then silently lost).
initramfs_with() {
    local out=$1 dir=$2 stage
    stage=$(mktemp -d)
    (cd "$stage" && cpio -id --quiet <"$INITRAMFS") || { rm -rf "$stage"; die "cannot unpack $INITRAMFS"; }
    cp -a "$dir/." "$stage/"
    (cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out"
    rm -rf "$stage"
}

# Judges the guest run in RUN_DIR (qemu-scripts/verdict): its results, its
# console, and every card's log and trace found there (deviceN.log,
# linkN.log, cardN.trace); further verdict options follow RUN_DIR.
judge_run() {
    local run_dir=$1 f i
    shift
    harness_cargo_build -p cardless-verdict || die "the verdict tool did not build (see the errors above)"
    local files=()
    for f in "$run_dir"/device*.log "$run_dir"/link*.log; do
        [ -e "$f" ] || continue
        i=$(basename "$f" .log); i=${i#device}; i=${i#link}
        files+=(--card-log "$i=$f")
    done
    for f in "$run_dir"/card*.trace; do
        [ -e "$f" ] || continue
        i=$(basename "$f" .trace); i=${i#card}
        files+=(--card-trace "$i=$f")
    done
    "$HARNESS_BIN_DIR/cardless-verdict" --results "$run_dir/results.log" --console "$run_dir/console.log" \
        "${files[@]}" "$@"
}
