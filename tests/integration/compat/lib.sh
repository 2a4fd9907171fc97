# lib.sh: helpers shared by the xenstore compatibility scenarios and their
# drivers (sourced by bash scripts; not executable on its own).
#
# Debian's clients are always called by absolute path, with the dynamic
# linker environment cleared, so that neither Xenolith's own xenstore-*
# tools nor Xenolith's libxenstore can stand in for them.

XS_BIN=/usr/bin
XS_CONTROL=/usr/lib/xen-4.17/bin/xenstore-control   # /usr/bin's is a wrapper
XS_TEST=/usr/lib/xen-4.17/bin/test-xenstore
XS_REAL_DAEMON=/usr/lib/xen-4.17/bin/xenstored

# deb CMD ARGS...: runs one of Debian's programs with a clean loader env.
deb()
{
    env -u LD_LIBRARY_PATH -u LD_PRELOAD "$@"
}

# run LABEL CMD ARGS...: runs CMD with stdin closed and prints a transcript
# entry: "$ LABEL", each stdout line as "| line", each stderr line as
# "! line", then "rc=N".  Never fails itself.
run()
{
    local label="$1" rc
    shift
    printf '$ %s\n' "$label"
    deb "$@" >"$COMPAT_TMP/out" 2>"$COMPAT_TMP/err" </dev/null
    rc=$?
    show "| " "$COMPAT_TMP/out"
    show "! " "$COMPAT_TMP/err"
    echo "rc=$rc"
}

# show PREFIX FILE: prints FILE's lines with PREFIX, shortening lines over
# 200 characters and marking a missing final newline.
show()
{
    awk -v p="$1" '{
        if (length($0) > 200)
            $0 = substr($0, 1, 60) "...[" length($0) " chars]"
        print p $0
    }' "$2"
    if [ -s "$2" ] && [ -n "$(tail -c1 "$2")" ]; then
        echo "${1}[no newline at end]"
    fi
}

# xs ARGS...: run "/usr/bin/xenstore-<ARGS>" with a label that omits /usr/bin
# (the label is the same for every daemon).
xs()
{
    local tool="$1"
    shift
    run "xenstore-$tool $*" "$XS_BIN/xenstore-$tool" "$@"
}

# xs_sum LABEL CMD ARGS...: like run, but prints only the number of stdout
# lines and their sha256 (for listings of thousands of nodes).
xs_sum()
{
    local label="$1" rc
    shift
    printf '$ %s | summary\n' "$label"
    deb "$@" >"$COMPAT_TMP/out" 2>"$COMPAT_TMP/err" </dev/null
    rc=$?
    printf '| lines=%s sha256=%s\n' "$(wc -l <"$COMPAT_TMP/out")" \
        "$(sha256sum <"$COMPAT_TMP/out" | cut -c1-16)"
    show "! " "$COMPAT_TMP/err"
    echo "rc=$rc"
}

# client: runs the libxenstore client on the script given on stdin, in
# COMPAT_RUNDIR when set (so that "open domains/5" names a domain's socket
# the same way for every run).
client()
{
    echo '$ xs_compat_client <<script'
    (cd "${COMPAT_RUNDIR:-.}" && deb "$COMPAT_CLIENT") 2>&1
    echo "rc=$?"
}

# prepare_domain DOMID...: the Xen daemon under xs-anchor maps a ring file
# and opens a notification FIFO on INTRODUCE; Xenolith's needs nothing.
# COMPAT_RINGDIR is set for xs-anchor.
prepare_domain()
{
    local d
    if [ -n "${COMPAT_RINGDIR:-}" ]; then
        for d in "$@"; do
            truncate -s 4096 "$COMPAT_RINGDIR/ring-$d"
            [ -p "$COMPAT_RINGDIR/notify-$d" ] ||
                mkfifo "$COMPAT_RINGDIR/notify-$d"
        done
    fi
}

# domain_up DOMID...: after INTRODUCE.  Xenolith's daemon makes
# <rundir>/domains/<domid> itself; for Xen's daemon under xs-anchor (when
# COMPAT_PROXY names xs-ring-proxy) a proxy serves that socket through the
# domain's ring.
domain_up()
{
    local d i
    [ -n "${COMPAT_PROXY:-}" ] && [ -n "${COMPAT_RINGDIR:-}" ] || return 0
    mkdir -p "$COMPAT_RUNDIR/domains"
    for d in "$@"; do
        "$COMPAT_PROXY" "$COMPAT_RINGDIR" "$d" "$COMPAT_RUNDIR/domains/$d" \
            </dev/null >>"$COMPAT_RINGDIR/proxy.log" 2>&1 &
        echo $! >"$COMPAT_RINGDIR/proxy-$d.pid"
        for i in $(seq 1 100); do
            [ -S "$COMPAT_RUNDIR/domains/$d" ] && break
            sleep 0.02
        done
    done
}

# domain_down DOMID...: after RELEASE (see domain_up).
domain_down()
{
    local d
    [ -n "${COMPAT_PROXY:-}" ] && [ -n "${COMPAT_RINGDIR:-}" ] || return 0
    for d in "$@"; do
        if [ -f "$COMPAT_RINGDIR/proxy-$d.pid" ]; then
            kill "$(cat "$COMPAT_RINGDIR/proxy-$d.pid")" 2>/dev/null
            rm -f "$COMPAT_RINGDIR/proxy-$d.pid"
        fi
        rm -f "$COMPAT_RUNDIR/domains/$d"
    done
}

# wait_lines FILE N: waits up to 5 s until FILE has at least N lines.
wait_lines()
{
    local i
    for i in $(seq 1 100); do
        if [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# wait_socket SOCKET PID: waits up to 10 s until a daemon answers on
# SOCKET; fails early if PID died.
wait_socket()
{
    local i
    for i in $(seq 1 200); do
        if [ -S "$1" ] && XENSTORED_PATH="$1" \
            deb "$XS_BIN/xenstore-exists" / >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# start_ours RUNDIR: starts Xenolith's xenstored (XENSTORED_BIN) in the
# foreground mode (-N) on RUNDIR/socket; sets OURS_PID.
start_ours()
{
    mkdir -p "$1"
    XENSTORED_RUNDIR="$1" "$XENSTORED_BIN" -N \
        >"$1/xenstored.log" 2>&1 </dev/null &
    OURS_PID=$!
    if ! wait_socket "$1/socket" "$OURS_PID"; then
        echo "xenstored ($XENSTORED_BIN) did not come up on $1/socket;" \
             "log:" >&2
        cat "$1/xenstored.log" >&2
        kill "$OURS_PID" 2>/dev/null
        return 1
    fi
}

stop_ours()
{
    if [ -n "${OURS_PID:-}" ]; then
        kill "$OURS_PID" 2>/dev/null
        wait "$OURS_PID" 2>/dev/null
        OURS_PID=
    fi
}

# anchor_dir: prints the xs-anchor tool folder, or nothing.
anchor_dir()
{
    local d
    for d in "${XS_ANCHOR:-}" /work/shared/tools/xs-anchor \
        "$COMPAT_TOP_SRCDIR/../shared/tools/xs-anchor"; do
        if [ -n "$d" ] && [ -x "$d/run-real-xenstored" ]; then
            echo "$d"
            return 0
        fi
    done
}

# start_anchor DIR: starts Debian's real C xenstored through xs-anchor.
start_anchor()
{
    TMPDIR="$COMPAT_TMP" "$(anchor_dir)/run-real-xenstored" "$1" >/dev/null
}

stop_anchor()
{
    "$(anchor_dir)/stop-real-xenstored" "$1" >/dev/null 2>&1
}
