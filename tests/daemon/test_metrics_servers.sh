#!/usr/bin/env bash
# tests/daemon/test_metrics_servers.sh: the servers' Prometheus endpoints
# (--metrics-listen, docs/METRICS.md) with real traffic, in a natlab (root):
#
#   ctl (203.0.113.80), relay (203.0.113.70) ---- internet ----+-- ra (symmetric) -- a
#                                                               +-- rb (symmetric) -- b
#
# Two symmetric NATs cannot punch, so a and b (real `lanrage daemon`s) talk
# through the relay. Each server serves /metrics on its namespace's loopback;
# curl there checks:
#   promtool check metrics accepts both, before and after traffic; no series
#   appears twice; histogram buckets are cumulative and end in +Inf, whose
#   count is _count;
#   lanrage_control_requests_total{type="party_create",result="ok"} goes
#   0 -> 1 and party_join likewise; sessions, parties, peers, relays are what
#   the lab holds; a join with a wrong code counts as not_found;
#   the relay's forwarded counters moved with a ping and equal, byte for
#   byte, the SIGUSR1 statistics line once the daemons are gone;
#   404 for another path, 405 for POST;
#   a --metrics-listen port in use makes each server exit 1 with one line
#   naming --metrics-listen, never saying it listens; a bad address exits 2.
# nl_down (EXIT trap) kills every process by PID and deletes the namespaces.
# Exit status: number of failures. BUILD=build dir.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LANRAGE=$BUILD/lanrage
source "$ROOT/tests/natlab/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "test_metrics_servers.sh: needs root (network namespaces)" >&2; exit 1; }
command -v promtool >/dev/null || { echo "test_metrics_servers.sh: needs promtool (Debian package prometheus)" >&2; exit 1; }
nl_init mx$((RANDOM % 1000))
TMP=$(mktemp -d /tmp/lrmetrics.XXXXXX)
trap 'rc=$?; nl_down; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; exit $rc' EXIT
source "$ROOT/tests/lib/check.sh"

nl_build <<'LAB'
server relay 203.0.113.70
server ctl 203.0.113.80
router ra symmetric
host a ra
router rb symmetric
host b rb
LAB

SECRET=metrics-test-secret
CTL_M=127.0.0.1:9667
RELAY_M=127.0.0.1:9821
CTL_URL=wss://203.0.113.80:8667
nl_control_tls "$TMP" || { echo "cannot get the control server's TLS pin" >&2; exit 1; }
nl_spawn ctl "$TMP/ctl.log" "$BUILD/lanrage-control" --listen 203.0.113.80:8667 \
	--db "$TMP/ctl.db" --relay-secret-file "$CTL_SECRET_FILE" --metrics-listen "$CTL_M" >/dev/null
sleep 0.5
nl_spawn relay "$TMP/relay.log" "$BUILD/lanrage-relay" --listen 203.0.113.70:51821 \
	--stun 203.0.113.70 --key "$TMP/relay.key" --control "$CTL_URL" \
	--control-pin "$CTL_PIN" --relay-secret-file "$CTL_SECRET_FILE" \
	--public-endpoint 203.0.113.70:51821 --name r1 --metrics-listen "$RELAY_M" >/dev/null
RELAY_PID=${NL_PIDS[-1]}
for _ in $(seq 100); do
	grep -qi 'registered' "$TMP/relay.log" 2>/dev/null && break
	sleep 0.1
done

# scrape NODE ADDR FILE: GET /metrics into FILE (headers in FILE.h)
scrape() { nl_exec "$1" curl -sS -D "$3.h" -o "$3" "http://$2/metrics"; }
# value FILE SERIES: the value of SERIES (name{labels} exactly), or "none"
value() { awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print "none" }' "$1"; }
# wait_value NODE ADDR SERIES WANT: scrapes until SERIES is WANT (10 s)
wait_value() {
	for _ in $(seq 50); do
		scrape "$1" "$2" "$TMP/w.txt"
		[ "$(value "$TMP/w.txt" "$3")" = "$4" ] && return 0
		sleep 0.2
	done
	echo "  $3 is $(value "$TMP/w.txt" "$3"), not $4"
	return 1
}
# sane FILE: what promtool does not check: no series twice; each histogram's
# buckets cumulative, ending in +Inf equal to its _count
sane() {
	python3 - "$1" <<'PY'
import re, sys
seen, hist, count, bad = set(), {}, {}, []
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    series, val = line.rsplit(" ", 1)
    if series in seen:
        bad.append("twice: " + series)
    seen.add(series)
    m = re.match(r'(\w+)_bucket\{(.*?),?le="([^"]+)"\}$', series)
    if m:
        hist.setdefault((m[1], m[2]), []).append((m[3], float(val)))
    m = re.match(r'(\w+)_count(?:\{(.*)\})?$', series)
    if m:
        count[(m[1], m[2] or "")] = float(val)
for key, buckets in hist.items():
    vals = [v for _, v in buckets]
    if vals != sorted(vals):
        bad.append("not cumulative: %s" % (key,))
    if buckets[-1][0] != "+Inf" or count.get(key) != vals[-1]:
        bad.append("+Inf is not last or not _count: %s" % (key,))
print("\n".join(bad) or "ok: %d series, %d histograms" % (len(seen), len(hist)))
sys.exit(1 if bad else 0)
PY
}
promcheck() { promtool check metrics <"$1"; }

# ---- before any traffic ----
check "control /metrics answers 200" scrape ctl "$CTL_M" "$TMP/c0.txt"
check "... with the Prometheus content type" \
	grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$TMP/c0.txt.h"
check "promtool accepts the control server's metrics" promcheck "$TMP/c0.txt"
check "relay /metrics answers 200" scrape relay "$RELAY_M" "$TMP/r0.txt"
check "promtool accepts the relay's metrics" promcheck "$TMP/r0.txt"
T='lanrage_control_requests_total{type="party_create",result="ok"}'
J='lanrage_control_requests_total{type="party_join",result="ok"}'
check "no party_create yet (0)" test "$(value "$TMP/c0.txt" "$T")" = 0
check "no party_join yet (0)" test "$(value "$TMP/c0.txt" "$J")" = 0
check "the relay registered: lanrage_control_relays 1" \
	wait_value ctl "$CTL_M" lanrage_control_relays 1
check "relay_register counted ok" wait_value ctl "$CTL_M" \
	'lanrage_control_requests_total{type="relay_register",result="ok"}' 1
check "build info on both" bash -c "grep -q '^lanrage_build_info{version=\"' $TMP/c0.txt && \
	grep -q '^lanrage_build_info{version=\"' $TMP/r0.txt"
check "the relay has no bindings yet" test "$(value "$TMP/r0.txt" lanrage_relay_bindings)" = 0
check "404 for another path" test "$(nl_exec ctl curl -s -o /dev/null -w '%{http_code}' \
	"http://$CTL_M/")" = 404
check "405 for POST" test "$(nl_exec relay curl -s -o /dev/null -w '%{http_code}' \
	-d x "http://$RELAY_M/metrics")" = 405

# ---- two daemons, a party, a relayed ping ----
lr() { local node=$1; shift; nl_exec "$node" "$LANRAGE" "$@" --state-dir "$TMP/$node"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1"; }
declare -A DPID
daemon() {
	mkdir -p "$TMP/$1"
	nl_spawn "$1" "$TMP/$1.log" "$LANRAGE" daemon --control "$CTL_URL" --control-pin "$CTL_PIN" \
		--state-dir "$TMP/$1" --interface "lr$1" --name "$1" >/dev/null
	DPID[$1]=${NL_PIDS[-1]}
	for _ in $(seq 100); do
		lr "$1" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
check "daemon a starts" daemon a
check "daemon b starts" daemon b
PARTY=$(lr a party create "metrics" --json | jget party_id)
check "party create" test -n "$PARTY"
check "party_create counted once" wait_value ctl "$CTL_M" "$T" 1
check "a join with a wrong code fails" bash -c \
	"! ip netns exec $(nl_ns b) $LANRAGE party join AAAA-AAAA-AAAA --state-dir $TMP/b >/dev/null 2>&1"
check "... and is counted as not_found" wait_value ctl "$CTL_M" \
	'lanrage_control_requests_total{type="party_join",result="not_found"}' 1
check "party join" bash -c "ip netns exec $(nl_ns b) $LANRAGE party join $PARTY --state-dir $TMP/b >/dev/null"
check "party_join counted once (ok)" wait_value ctl "$CTL_M" "$J" 1
check "status --wait settles on a" bash -c "ip netns exec $(nl_ns a) $LANRAGE status --wait --timeout 40 --state-dir $TMP/a >/dev/null"
check "a reaches b through the relay (two symmetric NATs)" \
	test "$(lr a peers --json | jget peers.0.path)" = relay
VIP_B=$(lr a peers --json | jget peers.0.virtual_ip)
check "ping over the relayed path" lr a ping "$VIP_B" --count 5

scrape ctl "$CTL_M" "$TMP/c1.txt"
check "promtool accepts the control server's metrics after traffic" promcheck "$TMP/c1.txt"
check "control: no series twice, histograms cumulative to +Inf = _count" sane "$TMP/c1.txt"
check "control: 1 party, 2 peers, 2 members" bash -c "
	[ \$(awk '\$1==\"lanrage_control_parties\"{print \$2}' $TMP/c1.txt) = 1 ] &&
	[ \$(awk '\$1==\"lanrage_control_peers\"{print \$2}' $TMP/c1.txt) = 2 ] &&
	[ \$(awk '\$1==\"lanrage_control_members\"{print \$2}' $TMP/c1.txt) = 2 ]"
check "control: 3 sessions (2 daemons, 1 relay)" \
	test "$(value "$TMP/c1.txt" lanrage_control_sessions)" = 3
check "control: a party_create latency observed" test "$(value "$TMP/c1.txt" \
	'lanrage_control_request_duration_seconds_count{type="party_create"}')" = 1
check "control: store commits timed" bash -c "[ \$(awk '\$1==\"lanrage_control_store_write_duration_seconds_count\"{print \$2}' $TMP/c1.txt) -ge 1 ]"
check "control: process metrics" grep -q '^process_resident_memory_bytes ' "$TMP/c1.txt"

# ---- the relay's counters against its SIGUSR1 line ----
scrape relay "$RELAY_M" "$TMP/r1.txt"
check "promtool accepts the relay's metrics after traffic" promcheck "$TMP/r1.txt"
check "relay: no series twice" sane "$TMP/r1.txt"
check "relay: 2 bindings" test "$(value "$TMP/r1.txt" lanrage_relay_bindings)" = 2
check "relay: forwarded packets moved" \
	test "$(value "$TMP/r1.txt" lanrage_relay_forwarded_packets_total)" -gt 5
check "relay: two binds counted" \
	test "$(value "$TMP/r1.txt" 'lanrage_relay_binds_total{event="bind"}')" -ge 2
# Daemons gone, nothing moves: the next publication (within 1 s of the
# relay's loop) and the statistics line must show the same counters.
lr a down >/dev/null 2>&1
lr b down >/dev/null 2>&1
for n in a b; do
	for _ in $(seq 50); do kill -0 "${DPID[$n]}" 2>/dev/null || break; sleep 0.1; done
done
sleep 2.5
kill -USR1 "$RELAY_PID"
for _ in $(seq 50); do grep -q 'relay: statistics' "$TMP/relay.log" && break; sleep 0.1; done
sleep 1.2
scrape relay "$RELAY_M" "$TMP/r2.txt"
LINE=$(grep 'relay: statistics' "$TMP/relay.log" | tail -1)
stat_of() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$LINE"; }
FB=$(stat_of forwarded_bytes)
check "relay: forwarded bytes = the SIGUSR1 line's forwarded_bytes ($FB)" bash -c \
	"[ -n '$FB' ] && [ '$FB' -gt 0 ] && [ '$(value "$TMP/r2.txt" lanrage_relay_forwarded_bytes_total)' = '$FB' ]"
check "relay: forwarded packets = forwarded ($(stat_of forwarded))" \
	test "$(value "$TMP/r2.txt" lanrage_relay_forwarded_packets_total)" = "$(stat_of forwarded)"
check "relay: received bytes = rx_bytes" \
	test "$(value "$TMP/r2.txt" lanrage_relay_received_bytes_total)" = "$(stat_of rx_bytes)"
check "relay: refused mac = refused_mac" \
	test "$(value "$TMP/r2.txt" 'lanrage_relay_refused_total{reason="mac"}')" = "$(stat_of refused_mac)"

# ---- the metrics port taken, a bad address ----
# taken NAME ERRFILE CMD...: CMD exits 1 within 5 s with one line naming
# --metrics-listen and nothing said of listening
taken() {
	local name=$1 err=$2 rc
	shift 2
	timeout 5 ip netns exec "$(nl_ns ctl)" "$@" >/dev/null 2>"$err"
	rc=$?
	if [ "$rc" -eq 1 ] && [ "$(grep -c "cannot listen for metrics on $CTL_M: Address already in use.*--metrics-listen" "$err")" -eq 1 ] &&
		! grep -qE 'listening on|metrics on http|lws_' "$err"; then
		pass "$name"
	else
		fail "$name (exit $rc)"
		sed 's/^/  | /' "$err"
	fi
}
taken "lanrage-control with its metrics port in use exits 1 naming --metrics-listen" \
	"$TMP/t1.err" "$BUILD/lanrage-control" --insecure --listen 127.0.0.1:18667 \
	--db "$TMP/t1.db" --metrics-listen "$CTL_M"
taken "lanrage-relay with its metrics port in use exits 1 naming --metrics-listen" \
	"$TMP/t2.err" "$BUILD/lanrage-relay" --listen 127.0.0.1:15821 --no-stun --no-tickets \
	--metrics-listen "$CTL_M"
check "a bad --metrics-listen is a usage error (2)" bash -c \
	"'$BUILD/lanrage-relay' --metrics-listen localhost:9 2>/dev/null; [ \$? -eq 2 ] && \
	 '$BUILD/lanrage-control' --metrics-listen 1.2.3.4 2>/dev/null; [ \$? -eq 2 ]"
check "both --help name --metrics-listen" bash -c \
	"'$BUILD/lanrage-relay' --help | grep -q -- --metrics-listen && \
	 '$BUILD/lanrage-control' --help | grep -q -- --metrics-listen"
check "the servers still serve after all this" scrape ctl "$CTL_M" "$TMP/c3.txt"

echo "test_metrics_servers.sh: $FAILS failure(s)"
exit "$FAILS"
