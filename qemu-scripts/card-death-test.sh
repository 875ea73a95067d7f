#!/usr/bin/env bash
# make card-death-test: only the guest's card_death suite, with the host's
# half of it (hot-unplug card 1, SIGKILL card 0's server behind its link).
# The host's half lives in qemu-test.sh, which runs the suite last in every
# two-card run, without the unplug: QEMU 11.1 aborts when it finalizes a
# vfio-user device's hot-unplug (memory_region_del_subregion assertion), so
# only this target asks for it (CARD_DEATH_UNPLUG=1) and fails until QEMU
# is fixed.
source "$(dirname "$0")/lib.sh"
[ "${CARDS:-2}" -ge 2 ] || die "card-death-test needs two cards (CARDS=${CARDS})"
TESTS=card_death CARD_DEATH_UNPLUG=1 exec "$SCRIPTS_DIR/qemu-test.sh"
