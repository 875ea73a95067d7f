#!/usr/bin/env bash
# Host packages (bookworm only: the host's libc never changes) and the
# private apt view of newer suites used for downloads (bindgen-cli:
# setup-bindgen.sh).
source "$(dirname "$0")/lib.sh"

HOST_PACKAGES=(
    build-essential bc bison flex libelf-dev libssl-dev cpio kmod zstd xz-utils lz4
    python3 busybox-static mmdebstrap
    "clang-$LLVM_VERSION" "lld-$LLVM_VERSION" "llvm-$LLVM_VERSION" "libclang-$LLVM_VERSION-dev"
)

stamp=$CACHE_DIR/stamps/host-packages-$(printf '%s\n' "${HOST_PACKAGES[@]}" | sha_of)
if [ ! -e "$stamp" ]; then
    missing=()
    for p in "${HOST_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        [ "$(id -u)" = 0 ] || die "host packages missing (${missing[*]}); run 'make setup' as root once"
        step "installing host packages from bookworm: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        run_logged "$CACHE_DIR/logs/apt-update.log" apt-get update
        run_logged "$CACHE_DIR/logs/apt-install.log" \
            apt-get install -y --no-install-recommends -o APT::Default-Release=bookworm "${missing[@]}"
    fi
    mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi

mirror=$(debian_mirror)
if [ ! -e "$APT_PRIVATE/lists/.updated-$(echo "$mirror" | sha_of)" ]; then
    step "reading package lists of trixie-backports and sid (downloads only, host untouched)"
    mkdir -p "$APT_PRIVATE"/{lists/partial,archives/partial,cache}
    cat >"$APT_PRIVATE/sources.list" <<SRC
deb $mirror trixie main
deb $mirror trixie-backports main
deb $mirror sid main
SRC
    run_logged "$CACHE_DIR/logs/apt-private-update.log" apt_private update
    touch "$APT_PRIVATE/lists/.updated-$(echo "$mirror" | sha_of)"
fi
