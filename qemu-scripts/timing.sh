# shellcheck shell=bash
# Where a run's time went: labelled instants on one wall-clock timeline,
# printed at the end as the time from each instant to the next. Sourced by
# lib.sh; every function is a no-op unless timing_begin ran in this process
# or a parent (CARDLESS_TIMING names the file).
#
# Instants come from three places:
#   host   every step() line (build steps, boot, verdict) and timing_mark
#   guest  console lines: the kernel's "Run /init", the guest's
#          "cardless-phase: ..." lines (written to /dev/kmsg by /init) and
#          "reboot: Power down"; results lines: each KTAP "# Subtest:" and the
#          guest's exit line. Each is stamped with the wall time it reached
#          the host, and console lines also keep their kernel timestamp.
#
# File format, one instant a line: WALL<TAB>WHO<TAB>KERNEL_TIME|-<TAB>LABEL
# Beside it, $CARDLESS_TIMING.cases: the kernel time each test case started
# at (the runner's "cardless-tests: case N SUITE.CASE" console line), and
# of the power-off: KERNEL_TIME<TAB>SUITE.CASE, for the slowest cases.

timing_begin() {
    export CARDLESS_TIMING=$1
    mkdir -p "$(dirname "$1")"
    : >"$CARDLESS_TIMING"
    : >"$CARDLESS_TIMING.cases"
    timing_mark host "started"
}

# timing_mark WHO LABEL [KERNEL_TIME [WALL]]: WALL defaults to now.
timing_mark() {
    [ -n "${CARDLESS_TIMING:-}" ] || return 0
    printf '%s\t%s\t%s\t%s\n' "${4:-$EPOCHREALTIME}" "$1" "${3:--}" "$2" >>"$CARDLESS_TIMING"
}

# Stamps the guest's phase lines in CONSOLE and RESULTS as they arrive, until
# process PID exits. Run it in the background.
timing_watch_guest() {
    local console=$1 results=$2 pid=$3 file="" line kt
    [ -n "${CARDLESS_TIMING:-}" ] || return 0
    tail -s 0.1 --pid "$pid" -n 0 -F "$console" "$results" 2>/dev/null | while IFS= read -r line; do
        line=${line%$'\r'}
        case "$line" in
            "==> $console <=="*) file=console; continue ;;
            "==> $results <=="*) file=results; continue ;;
        esac
        kt=-
        if [ "$file" = console ] && [[ $line =~ ^\[\ *([0-9]+\.[0-9]+)\]\ (.*)$ ]]; then
            kt=${BASH_REMATCH[1]}
            line=${BASH_REMATCH[2]}
        fi
        case "$line" in
            "Run /init as init process") timing_mark guest "/init runs (the kernel has booted)" "$kt" ;;
            "cardless-phase: "*) timing_mark guest "${line#cardless-phase: }" "$kt" ;;
            "cardless-tests: case "*)
                [ "$kt" = - ] || printf '%s\t%s\n' "$kt" "${line##* }" >>"$CARDLESS_TIMING.cases" ;;
            "reboot: Power down")
                timing_mark guest "powered off" "$kt"
                [ "$kt" = - ] || printf '%s\t%s\n' "$kt" "(power-off)" >>"$CARDLESS_TIMING.cases" ;;
            *"# Subtest: "*) timing_mark guest "suite ${line#*# Subtest: }" ;;
            "cardless-guest-exit:"*) timing_mark guest "tests done; power-off" ;;
        esac
    done
}

# Prints the table: each instant, the wall time to the next one, and for
# console instants the kernel time too (under TCG the two differ by what
# happens before the kernel runs: QEMU start-up, firmware, decompression).
timing_report() {
    [ -n "${CARDLESS_TIMING:-}" ] && [ -s "$CARDLESS_TIMING" ] || return 0
    timing_mark host "end"
    printf '\033[1m==> where the time went (wall seconds from each instant to the next)\033[0m\n' >&2
    sort -n -s -k1,1 "$CARDLESS_TIMING" | awk -F'\t' '
        { wall[NR] = $1; who[NR] = $2; kt[NR] = $3; label[NR] = $4 }
        END {
            for (i = 1; i < NR; i++) {
                extra = ""
                if (kt[i] != "-") extra = sprintf("  (at kernel time %.2f s)", kt[i])
                printf "    %7.2f  %-5s  %s%s\n", wall[i + 1] - wall[i], who[i], label[i], extra
            }
            printf "    %7.2f  total\n", wall[NR] - wall[1]
        }' >&2
    timing_slowest_cases 5
}

# The N cases that took longest, by the kernel's clock (each from its start
# to the next case's, the last to the power-off): where a suite's time went.
timing_slowest_cases() {
    local cases=$CARDLESS_TIMING.cases
    # Two cases and the power-off at least: one case is no ranking.
    [ -s "$cases" ] && [ "$(wc -l <"$cases")" -ge 3 ] || return 0
    printf '\033[1m==> the %s slowest test cases (kernel seconds)\033[0m\n' "$1" >&2
    # (sed, not head, takes the first N: it reads to the end, so sort never
    # writes into a closed pipe; a SIGPIPE here failed a green run, 141)
    awk -F'\t' 'NR > 1 { printf "    %7.2f  %s\n", $1 - start, name } { start = $1; name = $2 }' "$cases" |
        sort -rn | sed -n "1,${1}p" >&2
}
