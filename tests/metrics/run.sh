#!/usr/bin/env bash
# tests/metrics/run.sh: the Prometheus endpoints of the daemon, lanrage-control
# and lanrage-relay, checked by promtool, by tests/tools/promcheck.py and by a
# real Prometheus (Debian's) scraping all three in natlab (run as root, ~1 min).
#
# Lab (tests/e2e/lib.sh): lanrage-control on 203.0.113.30 with
# --metrics-listen 203.0.113.30:9667, lanrage-relay r1 on 203.0.113.22 with
# --metrics-listen 203.0.113.22:9821, and three players:
#
#     a --[full-cone]--\
#     b --[symmetric]---- internet -- ctl, r1
#     c --[symmetric]--/               c's name: c "q" \ z (label escaping)
#
# b sees a direct and c through the relay (two symmetric NATs). Checks:
#   - promcheck's own self-test (tests/tools/test_promcheck.py);
#   - b's /metrics: 404 while the `metrics` setting is off; after
#     `lanrage settings set metrics true`: 200 with the token, 401 with a
#     wrong token and with none;
#   - `promtool check metrics` and promcheck.py accept each endpoint's output,
#     and the families issue 15 names are there;
#   - a Prometheus started in b's namespace on 127.0.0.1:9090 (its own TSDB
#     directory, scrape interval 1 s) with docs/prometheus.yml, only the
#     addresses, the token path and the intervals replaced, scrapes the
#     three: every target up; lanrage_peer_path says direct for a and relay
#     for c as `lanrage status` does; lanrage_peer_rtt_seconds equals
#     `lanrage status --json` members[].rtt_ms / 1000 (tests/metrics/promq.py
#     says why the comparison is exact within a 1 s window); every query of
#     the Grafana dashboard docs/grafana/lanrage.json answers with a series;
#   - after 2 MiB over TCP b -> c through the relay, b's
#     lanrage_peer_transmit_bytes_total for c holds them; once c left (no
#     relayed pair left), lanrage_relay_forwarded_bytes_total in Prometheus
#     equals exactly the forwarded_bytes of the relay's own statistics line
#     (SIGUSR1);
#   - b's daemon restarted writes a new token, and Prometheus scrapes it
#     again without a reload (credentials_file is read at every scrape).
# Prints PASS/FAIL per check and "metrics: N passed, M failed"; exit 1 on any
# failure. Prometheus is killed by PID and the lab torn down on every exit
# path (EXIT trap). BUILD=DIR for other binaries; KEEP=1 keeps the files.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../e2e/lib.sh"
PROMCHECK=$E2E_ROOT/tests/tools/promcheck.py
PROMQ=$HERE/promq.py
CTL_METRICS=203.0.113.30:9667
RELAY_METRICS=203.0.113.22:9821
PROM=http://127.0.0.1:9090
PROM_PID=
C_NAME='c "q" \ z'

e2e_require metrics
for t in prometheus promtool curl; do
	command -v "$t" >/dev/null || { echo "metrics: $t missing (scripts/install-deps.sh)" >&2; exit 1; }
done

mt_cleanup() {
	if [ -n "$PROM_PID" ]; then
		kill "$PROM_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$PROM_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$PROM_PID" 2>/dev/null
		PROM_PID=
	fi
	e2e_cleanup
}

# ---- promcheck alone -------------------------------------------------------

if out=$(python3 "$E2E_ROOT/tests/tools/test_promcheck.py" 2>&1); then
	pass "promcheck self-test ($(tail -1 <<<"$out"))"
else
	fail "promcheck self-test"
	grep -v '^PASS' <<<"$out" | sed 's/^/  /'
fi

# ---- the lab ---------------------------------------------------------------

e2e_lab mt 0 <<'LAB' || { echo "metrics: lab setup failed" >&2; exit 1; }
server r1 203.0.113.22 203.0.113.23
router na full-cone
host a na
router nb symmetric
host b nb
router nc symmetric
host c nc
LAB
trap 'rc=$?; mt_cleanup; exit $rc' EXIT

# e2e_lab's control server has no metrics endpoint: the same again with one.
kill "$CTL_PID" && wait "$CTL_PID" 2>/dev/null
nl_spawn ctl "$E2E_DIR/ctl.log" "$BUILD/lanrage-control" --listen 203.0.113.30:8667 \
	--db "$E2E_DIR/ctl.db" --relay-secret-file "$CTL_SECRET_FILE" \
	--metrics-listen "$CTL_METRICS" >/dev/null
CTL_PID=${NL_PIDS[-1]}
nl_spawn r1 "$E2E_DIR/r1.log" "$BUILD/lanrage-relay" --listen 203.0.113.22:51821 \
	--stun 203.0.113.22 --stun 203.0.113.23 --key "$E2E_DIR/r1.key" --control "$CTL_URL" \
	--control-pin "$CTL_PIN" --relay-secret-file "$CTL_SECRET_FILE" \
	--public-endpoint 203.0.113.22:51821 --name r1 --metrics-listen "$RELAY_METRICS" >/dev/null
RELAY_PID[r1]=${NL_PIDS[-1]}
e2e_relay_registered r1 || { echo "metrics: relay did not register: $(tail -3 "$E2E_DIR/r1.log")" >&2; exit 1; }

declare -A NAME=([a]=a [b]=b [c]=$C_NAME)
mt_daemon() { # NODE: starts its daemon (e2e_daemon's, but named NAME[NODE])
	mkdir -p "$E2E_DIR/$1"
	nl_spawn "$1" "$E2E_DIR/$1.log.$RANDOM" "$LANRAGE" daemon --control "$CTL_URL" \
		--control-pin "$CTL_PIN" --state-dir "$E2E_DIR/$1" --interface "lrm$1" \
		--name "${NAME[$1]}" >/dev/null
	DPID[$1]=${NL_PIDS[-1]}
}
mt_api_wait() { # NODE
	for _ in $(seq 150); do lr "$1" status >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "metrics: daemon $1 did not answer" >&2
	exit 1
}
for node in a b c; do mt_daemon "$node"; done
for node in a b c; do mt_api_wait "$node"; done
id=$(party_create a) && party_join b "$id" && party_join c "$id" ||
	{ echo "metrics: party create/join failed" >&2; exit 1; }
VA=$(vip a) VB=$(vip b) VC=$(vip c)
wait_members b 2 30 || fail "b sees 2 members"
wait_path b "$VA" 30
wait_path b "$VC" 30
wait_path c "$VB" 30
check "b: a direct" test "$(peer_field b "$VA" path)" = direct
check "b: c on the relay" test "$(peer_field b "$VC" path)" = relay
check "ping b -> c through the relay" ping_ok b "$VC"

# ---- the daemon's endpoint -------------------------------------------------

TOKEN=$(cat "$E2E_DIR/b/api.token")
# dget TOKEN OUT -> HTTP status of b's GET /metrics (body in OUT); "-" sends
# no Authorization header
dget() {
	local h=()
	[ "$1" = - ] || h=(-H "Authorization: Bearer $1")
	nl_exec b curl -s -m 5 -o "$2" -w '%{http_code} %{content_type}' "${h[@]}" \
		http://127.0.0.1:8666/metrics
}
r=$(dget "$TOKEN" "$E2E_DIR/off.txt")
check "metrics off: 404 ($r, $(head -c 80 "$E2E_DIR/off.txt"))" test "${r%% *}" = 404
lr b settings set metrics true >/dev/null
r=$(dget "$TOKEN" "$E2E_DIR/daemon.prom")
check "metrics on: 200, $r" test "$r" = "200 text/plain; version=0.0.4; charset=utf-8"
r=$(dget "${TOKEN%?}0" "$E2E_DIR/bad.txt")
[ "${TOKEN: -1}" = 0 ] && r=$(dget "${TOKEN%?}1" "$E2E_DIR/bad.txt")
check "wrong token: 401 ($r)" test "${r%% *}" = 401
r=$(dget - "$E2E_DIR/bad.txt")
check "no token: 401 ($r)" test "${r%% *}" = 401

nl_exec ctl curl -s -m 5 -o "$E2E_DIR/control.prom" "http://$CTL_METRICS/metrics"
nl_exec r1 curl -s -m 5 -o "$E2E_DIR/relay.prom" "http://$RELAY_METRICS/metrics"

# has_families FILE NAME...: every family announced (# TYPE) in FILE
has_families() {
	local f=$1 n missing=()
	shift
	for n; do grep -q "^# TYPE $n " "$f" 2>/dev/null || missing+=("$n"); done
	[ ${#missing[@]} -eq 0 ] || note "$(basename "$f"): no ${missing[*]}"
	[ ${#missing[@]} -eq 0 ]
}
DAEMON_FAMILIES=(lanrage_build_info lanrage_daemon_party_members lanrage_daemon_party_state
	lanrage_daemon_control_connected lanrage_daemon_discovery_packets_total
	lanrage_peer_rtt_seconds lanrage_peer_jitter_seconds lanrage_peer_loss_ratio
	lanrage_peer_receive_bytes_total lanrage_peer_transmit_bytes_total
	lanrage_peer_receive_packets_total lanrage_peer_transmit_packets_total
	lanrage_peer_handshakes_total lanrage_peer_last_handshake_timestamp_seconds
	lanrage_peer_path process_resident_memory_bytes process_cpu_seconds_total
	process_open_fds)
CONTROL_FAMILIES=(lanrage_build_info lanrage_control_sessions lanrage_control_parties
	lanrage_control_peers lanrage_control_requests_total
	lanrage_control_request_duration_seconds lanrage_control_store_write_duration_seconds
	process_resident_memory_bytes)
RELAY_FAMILIES=(lanrage_build_info lanrage_relay_forwarded_bytes_total
	lanrage_relay_forwarded_packets_total lanrage_relay_bindings lanrage_relay_refused_total
	lanrage_relay_dropped_total lanrage_relay_stun_answers_total process_resident_memory_bytes)
for ep in daemon control relay; do
	f=$E2E_DIR/$ep.prom
	[ -s "$f" ] || { fail "$ep: no answer from its /metrics"; continue; }
	if out=$(promtool check metrics <"$f" 2>&1); then
		pass "promtool check metrics: $ep ($(wc -l <"$f") lines)"
	else
		fail "promtool check metrics: $ep"
		sed 's/^/  /' <<<"$out" | head -20
	fi
	if out=$(python3 "$PROMCHECK" "$f" 2>&1); then
		pass "promcheck: $ep (${out#*: })"
	else
		fail "promcheck: $ep"
		sed 's/^/  /' <<<"$out" | head -20
	fi
done
check "daemon: the families issue 15 names" has_families "$E2E_DIR/daemon.prom" "${DAEMON_FAMILIES[@]}"
check "control: the families issue 15 names" has_families "$E2E_DIR/control.prom" "${CONTROL_FAMILIES[@]}"
check "relay: the families issue 15 names" has_families "$E2E_DIR/relay.prom" "${RELAY_FAMILIES[@]}"
check "daemon: c's name escaped in its labels" \
	grep -qF 'name="c \"q\" \\ z"' "$E2E_DIR/daemon.prom"

# ---- a real Prometheus in b's namespace -----------------------------------

mkdir -p "$E2E_DIR/prom"
sed -e 's/scrape_interval: .*/scrape_interval: 1s/' -e 's/scrape_timeout: .*/scrape_timeout: 1s/' \
	-e "s|/var/lib/lanrage/api.token|$E2E_DIR/b/api.token|" \
	-e "s|\"control.example.net:9667\"|\"$CTL_METRICS\"|" \
	-e "s|\\[\"relay1.example.net:9821\", \"relay2.example.net:9821\"\\]|[\"$RELAY_METRICS\"]|" \
	"$E2E_ROOT/docs/prometheus.yml" >"$E2E_DIR/prom/prometheus.yml"
if out=$(promtool check config "$E2E_DIR/prom/prometheus.yml" 2>&1); then
	pass "promtool check config: docs/prometheus.yml with the lab's addresses"
else
	fail "promtool check config"
	sed 's/^/  /' <<<"$out"
fi
PROM_PID=$(nl_spawn b "$E2E_DIR/prom/prometheus.log" prometheus \
	--config.file="$E2E_DIR/prom/prometheus.yml" --storage.tsdb.path="$E2E_DIR/prom/data" \
	--web.listen-address=127.0.0.1:9090 --log.level=warn)
promq() { nl_exec b python3 "$PROMQ" "$PROM" "$@"; }
if out=$(promq targets 3 30 2>&1); then
	pass "Prometheus: 3 targets up"
else
	fail "Prometheus: targets not all up"
	tail -5 "$E2E_DIR/prom/prometheus.log" | sed 's/^/  /'
fi
sed 's/^/  /' <<<"$out"

# prom_path VIP -> the path label of b's member with that virtual IP
prom_path() {
	promq value "lanrage_peer_path{job=\"lanrage\",virtual_ip=\"$1\"}" 2>/dev/null |
		sed -n 's/.*path="\([a-z]*\)".*/\1/p'
}
check "Prometheus: a's path direct ($(prom_path "$VA"))" test "$(prom_path "$VA")" = direct
check "Prometheus: c's path relay ($(prom_path "$VC"))" test "$(prom_path "$VC")" = relay
for m in a c; do
	v=$VA
	[ $m = c ] && v=$VC
	if out=$(promq rtt "$v" 6 "$LANRAGE" status --json --state-dir "$E2E_DIR/b" 2>&1); then
		pass "Prometheus: $m's RTT is the CLI's (${out##*: })"
	else
		fail "Prometheus: $m's RTT is not the CLI's"
		sed 's/^/  /' <<<"$out"
	fi
done
if out=$(promq dashboard "$E2E_ROOT/docs/grafana/lanrage.json" 2>&1); then
	pass "Prometheus: every query of docs/grafana/lanrage.json answers ($(tail -1 <<<"$out"))"
else
	fail "Prometheus: queries of docs/grafana/lanrage.json"
	sed 's/^/  /' <<<"$out"
fi
up=$(promq value 'lanrage_control_parties' 2>/dev/null | awk '{print $NF}')
check "Prometheus: the control server counts 1 party ($up)" test "$up" = 1

# ---- relayed bytes: Prometheus against the relay's own statistics --------

check "2 MiB over TCP b -> c through the relay" tcp_ok b c
sleep 1.5 # a scrape after the transfer
tx=$(promq value "lanrage_peer_transmit_bytes_total{job=\"lanrage\",virtual_ip=\"$VC\"}" 2>/dev/null |
	awk '{print $NF}')
check "Prometheus: b's transmit bytes to c hold the 2 MiB ($tx)" \
	awk -v v="${tx:-0}" 'BEGIN { exit !(v >= 2 * 1024 * 1024) }'
lr c party leave >/dev/null
fwd() { promq value lanrage_relay_forwarded_bytes_total 2>/dev/null | awk '{print $NF}'; }
# Nothing is relayed once c is gone; wait until three scrapes agree.
last= same=0
for _ in $(seq 40); do
	v=$(fwd)
	if [ -n "$v" ] && [ "$v" = "$last" ]; then same=$((same + 1)); else same=0; fi
	last=$v
	[ $same -ge 3 ] && break
	sleep 1
done
check "relay counter still after c left ($last bytes)" test "$same" -ge 3
n0=$(grep -c ' statistics ' "$E2E_DIR/r1.log")
kill -USR1 "${RELAY_PID[r1]}"
for _ in $(seq 50); do
	[ "$(grep -c ' statistics ' "$E2E_DIR/r1.log")" -gt "$n0" ] && break
	sleep 0.1
done
stat=$(grep ' statistics ' "$E2E_DIR/r1.log" | tail -1 | sed -n 's/.*forwarded_bytes=\([0-9]*\).*/\1/p')
sleep 2 # two more scrapes after the statistics line
v=$(fwd)
check "relay: Prometheus $v = SIGUSR1 statistics $stat forwarded bytes" test -n "$stat" -a "$v" = "$stat"
check "relay: the relayed TCP is in it (>= 2 MiB)" test "${stat:-0}" -ge $((2 * 1024 * 1024))

# ---- a restarted daemon has a new token: Prometheus reads it again --------

kill -TERM "${DPID[b]}"
for _ in $(seq 100); do kill -0 "${DPID[b]}" 2>/dev/null || break; sleep 0.1; done
mt_daemon b
mt_api_wait b
NEW_TOKEN=$(cat "$E2E_DIR/b/api.token")
check "b restarted with a new token" test "$NEW_TOKEN" != "$TOKEN"
sleep 2.5 # the latest scrape is one of the new daemon
up=$(promq value 'up{job="lanrage"}' 2>/dev/null | awk '{print $NF}')
check "Prometheus: b's new daemon scraped with the new token, no reload (up $up)" test "$up" = 1

echo "metrics: $PASSES passed, $FAILS failed ($SECONDS s)"
[ "$FAILS" -eq 0 ]
