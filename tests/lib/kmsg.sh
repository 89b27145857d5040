# shellcheck shell=bash
# shellcheck disable=SC2034 # BAD_KMSG is read by who sources this.
# Kernel log lines that fail a VM case, a soak round or a benchmark run (grep -E); sourced
# by tests/vm/guest.sh, tests/soak/guest.sh and the bench guests (tests/bench). BUG:,
# WARNING: and Oops cover KASAN ("BUG: KASAN"), lockdep ("WARNING: possible circular
# locking dependency"), the atomic-sleep checker ("BUG: sleeping function called from
# invalid context") and soft lockups ("BUG: soft lockup"); the rest are reports with
# other prefixes.
BAD_KMSG='BUG|WARNING|Oops|panic|Call Trace|ghostswap.*(error|leak)'
BAD_KMSG+='|blocked for more than|soft lockup|hard LOCKUP|rcu.*stall|KASAN|UBSAN'
BAD_KMSG+='|lockdep|locking dependency|inconsistent lock state|ODEBUG|list_(add|del) corruption'
BAD_KMSG+='|general protection fault|kernel BUG'
