#!/usr/bin/env bash
# lanrage-wg behaves like wireguard-go as a process: without -f it daemonizes
# (the command returns, the interface and socket exist); SIGTERM and SIGINT
# remove interface and socket; deleting the interface or the socket makes it
# exit; a stale socket from a killed daemon does not block the next start;
# a second daemon for the same interface is refused.
source "$(dirname "$0")/lib.sh"
lr_hub
lr_host 1
ns=$(lr_ns 1)
ifc=$(lr_ifname 1)
sock=/var/run/wireguard/$ifc.sock
LR_IFACES+=("$ifc")

start_daemon() {
	ip netns exec "$ns" "$LR_WG" "$ifc" || lr_fail "daemon start failed"
	[ -S "$sock" ] || lr_fail "no socket after daemon start"
	ip -n "$ns" link show "$ifc" >/dev/null || lr_fail "no interface after daemon start"
	pid=$(pgrep -f -x "$LR_WG $ifc" | head -1)
	[ -n "$pid" ] || lr_fail "daemon not running"
	LR_PIDS+=("$pid")
}
gone() {
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && lr_fail "$1: daemon still running"
	[ -e "$sock" ] && lr_fail "$1: socket left behind"
	ip -n "$ns" link show "$ifc" >/dev/null 2>&1 && lr_fail "$1: interface left behind"
	lr_log "ok: $1"
}

start_daemon
[ "$(ip -n "$ns" -o link show "$ifc" | grep -o 'mtu [0-9]*')" = "mtu 1420" ] || lr_fail "default MTU is not 1420"
ip netns exec "$ns" "$LR_WG" "$ifc" 2>"$LR_TMP/second.err" && lr_fail "a second daemon for $ifc started"
lr_log "ok: second daemon refused: $(head -1 "$LR_TMP/second.err")"
kill -TERM "$pid"
gone "SIGTERM"

start_daemon
kill -INT "$pid"
gone "SIGINT"

start_daemon
ip -n "$ns" link del "$ifc"
gone "interface deleted"

start_daemon
rm -f "$sock"
gone "socket removed"

start_daemon
kill -KILL "$pid"
for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
[ -S "$sock" ] || lr_fail "expected a stale socket after SIGKILL"
start_daemon
lr_log "ok: stale socket replaced on start"
kill -TERM "$pid"
gone "SIGTERM after stale restart"

rc=0; ip netns exec "$ns" "$LR_WG" 2>/dev/null || rc=$?
[ $rc -eq 2 ] || lr_fail "no interface name: want exit 2, got $rc"
rc=0; ip netns exec "$ns" "$LR_WG" -x foo 2>/dev/null || rc=$?
[ $rc -eq 2 ] || lr_fail "bad flag: want exit 2, got $rc"
ip netns exec "$ns" "$LR_WG" -f "this-name-is-far-too-long" 2>/dev/null && lr_fail "accepted a too-long name"
lr_log "PASS test_lifecycle"
