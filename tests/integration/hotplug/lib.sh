# lib.sh - what the hotplug script tests share (sourced): results, a
# network namespace of the test's own, the uplink and tap in it, and the
# script run as libxl runs it.  The sourcing test sets $name (the
# script's name, e.g. vif-nat) and $here (its own folder) first.

script=${XENOLITH_SCRIPTS_DIR:-$here/../../../hotplug}/$name
failures=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # check MESSAGE CMD...
    msg=$1
    shift
    if "$@"; then ok "$msg"; else bad "$msg"; fi
}

# in_netns VAR CMD...: skips (77) unless root with ip and each CMD, then
# runs the test again in a network namespace of its own (VAR set there).
in_netns() {
    var=$1
    shift
    eval "[ -n \"\${$var:-}\" ]" && return 0
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
    for c in ip "$@"; do
        command -v "$c" >/dev/null 2>&1 || { echo "SKIP: no $c"; exit 77; }
    done
    unshare --net true 2>/dev/null ||
        { echo "SKIP: no private network namespace (unshare)"; exit 77; }
    eval "$var=1; export $var"
    exec unshare --net sh "$0"
}

# setup TAP: lo up, an uplink dummy0 with 192.0.2.1/24 (a bridge: the
# dummy driver may be missing), and the tap TAP.
setup() {
    [ -x "$script" ] || { echo "ERROR: $script missing"; exit 99; }
    ip link set lo up
    ip link add dummy0 type bridge && ip addr add 192.0.2.1/24 dev dummy0 &&
        ip link set dummy0 up || { echo "ERROR: no dummy uplink"; exit 99; }
    ip tuntap add dev "$1" mode tap || { echo "ERROR: no tap"; exit 99; }
    err=$(mktemp)
    trap 'rm -f "$err"' EXIT
}

run() { # run ACTION [VAR=VALUE...]: the script as libxl runs it
    action=$1
    shift
    env -i PATH="$PATH" "$@" "$script" "$action" type_if=tap 2>"$err"
}

finish() {
    [ $failures = 0 ] && echo "all passed" && exit 0
    echo "$failures failure(s)"
    exit 1
}
