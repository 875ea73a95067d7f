#!/usr/bin/env bash
# make card-death-test: only the guest's card_death suite, with the host's
# half of it (hot-unplug card 1, SIGKILL card 0's server behind its link),
# which lives in qemu-test.sh: every two-card qemu-test runs it last.
source "$(dirname "$0")/lib.sh"
hold_checkout_lock
[ "${CARDS:-2}" -ge 2 ] || die "card-death-test needs two cards (CARDS=${CARDS})"
TESTS=card_death exec "$SCRIPTS_DIR/qemu-test.sh"
