#!/usr/bin/env bash
# Runs shellcheck on every shell script the checkout tracks (make check): the
# *.sh files (sourced ones too) and every file whose first line is a sh,
# bash or busybox-sh shebang (.ci/run, tests/run, the initramfs's /init),
# so a new script is checked without being listed anywhere. Sourced files
# are followed (-x) relative to the script that sources them. Default
# severity, style included. Installs shellcheck (Debian's package) when it
# is missing, as make setup installs the host's packages.
source "$(dirname "$0")/lib.sh"
SHELLCHECK=${SHELLCHECK:-shellcheck}

if ! command -v "$SHELLCHECK" >/dev/null; then
    command -v apt-get >/dev/null ||
        die "make check needs shellcheck ($SHELLCHECK not found); install it with your package manager"
    [ "$(id -u)" = 0 ] ||
        die "make check needs shellcheck ($SHELLCHECK not found); run 'make check' as root once to install it, or: apt-get install shellcheck"
    step "installing shellcheck from bookworm (make check lints the shell scripts with it)"
    export DEBIAN_FRONTEND=noninteractive
    run_logged "$CACHE_DIR/logs/apt-update.log" apt-get update
    run_logged "$CACHE_DIR/logs/apt-install-shellcheck.log" \
        apt-get install -y --no-install-recommends -o APT::Default-Release=bookworm shellcheck
    command -v "$SHELLCHECK" >/dev/null || die "shellcheck installed, but $SHELLCHECK is still not found"
fi

cd "$REPO_DIR"
scripts=()
while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue  # deleted in the work tree, not yet committed
    case "$f" in
        *.sh) scripts+=("$f") ;;
        *)
            first=""
            IFS= read -r first <"$f" || true  # a file without a newline still has a first line
            [[ $first =~ ^#!.*[/\ ](ba|da)?sh(\ |$) ]] && scripts+=("$f") ;;
    esac
done < <(git ls-files -z)
[ ${#scripts[@]} -gt 0 ] || die "no shell scripts found: is $REPO_DIR a git checkout?"
"$SHELLCHECK" -x -P SCRIPTDIR "${scripts[@]}" ||
    die "shellcheck found problems in the shell scripts (above); fix them, or where one is deliberate add '# shellcheck disable=SCxxxx # why' on the line before"
note "shellcheck: ${#scripts[@]} shell scripts clean"
