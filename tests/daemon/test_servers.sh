#!/usr/bin/env bash
# tests/daemon/test_servers.sh: the first hour with the servers (root), real
# processes in one namespace of their own, loopback addresses only:
#   a port already taken (a python socket holds it) makes lanrage-control
#   (TCP), lanrage-relay (UDP relay port, STUN port, STUN alternate port) and
#   `lanrage daemon` (local API) exit 1 within seconds with one line naming
#   the address, and no libwebsockets line leaks;
#   a relay with a wrong relay secret exits 1 saying the control server
#   refused it (one with the right secret registers);
#   a control server without a relay secret warns at start;
#   --version, --help and unknown options on the programs.
# nl_down (EXIT trap, tests/natlab/lib.sh) kills every process by PID and
# deletes the namespace (KEEP_TMP=1 keeps the logs). Exit status: number of
# failures. BUILD=build dir.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
source "$ROOT/tests/natlab/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "test_servers.sh: needs root (network namespaces)" >&2; exit 1; }
nl_init sv$((RANDOM % 10000))
TMP=$(mktemp -d /tmp/lrservers.XXXXXX)
trap 'rc=$?; nl_down; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; exit $rc' EXIT
nl_newns s server
unset LANRAGE_RELAY_SECRET

source "$ROOT/tests/lib/check.sh"

# Ports the python holder takes. The control server is given its default
# port: the namespace is ours, so 8667 is free until we take it.
CTL_BUSY=8667     # TCP
API_BUSY=18666    # TCP
RELAY_BUSY=51821  # UDP
STUN_BUSY=3478    # UDP
ALT_BUSY=13479    # UDP: the alternate port of --stun ...:13478 twice
nl_spawn s "$TMP/holder.log" python3 -c '
import socket, sys, time
socks = []
for kind, port in (("tcp", '$CTL_BUSY'), ("tcp", '$API_BUSY'), ("udp", '$RELAY_BUSY'),
                   ("udp", '$STUN_BUSY'), ("udp", '$ALT_BUSY')):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    if kind == "tcp":
        s.listen()
    socks.append(s)
open(sys.argv[1], "w").close()
time.sleep(600)' "$TMP/held" >/dev/null
for _ in $(seq 100); do [ -e "$TMP/held" ] && break; sleep 0.05; done
[ -e "$TMP/held" ] || { cat "$TMP/holder.log"; echo "cannot take the ports" >&2; exit 1; }

# refused NAME ERRFILE PATTERN CMD...: CMD (in the namespace) exits 1 within
# 5 s, ERRFILE holds exactly one line matching PATTERN and no lws line.
refused() {
	local name=$1 err=$2 pat=$3 rc n
	shift 3
	timeout 5 ip netns exec "$(nl_ns s)" "$@" >/dev/null 2>"$err"
	rc=$?
	n=$(grep -cE -- "$pat" "$err")
	if [ "$rc" -eq 1 ] && [ "$n" -eq 1 ] && ! grep -qE 'lws_|ERROR on binding|vhost' "$err"; then
		pass "$name"
	else
		fail "$name (exit $rc, $n matching lines)"
		sed 's/^/  | /' "$err"
	fi
}

# ---- (a) lanrage-control on a busy TCP port ----
refused "lanrage-control on a busy port exits 1 naming the address and --listen" \
	"$TMP/a.err" 'cannot listen on 127\.0\.0\.1:8667: .*--listen' \
	"$BUILD/lanrage-control" --insecure --listen "127.0.0.1:$CTL_BUSY" --db "$TMP/a.db"
check "... and says nothing of listening" bash -c "! grep -q 'listening on' '$TMP/a.err'"
refused "lanrage-control on the busy port of any address exits 1 too" \
	"$TMP/a2.err" 'cannot listen on 0\.0\.0\.0:8667' \
	"$BUILD/lanrage-control" --insecure --listen "0.0.0.0:$CTL_BUSY" --db "$TMP/a.db"

# ---- (b) lanrage-relay on a busy relay port, STUN port, alternate port ----
refused "lanrage-relay on a busy relay port exits 1 naming it and --listen" \
	"$TMP/b1.err" 'cannot listen for relay frames on 127\.0\.0\.1:51821: .*--listen' \
	"$BUILD/lanrage-relay" --listen "127.0.0.1:$RELAY_BUSY" --stun 127.0.0.1:23478 --no-tickets
refused "lanrage-relay on a busy STUN port exits 1 naming it and --stun" \
	"$TMP/b2.err" 'cannot listen for STUN on 127\.0\.0\.1:3478: .*--stun' \
	"$BUILD/lanrage-relay" --listen 127.0.0.1:23821 --stun "127.0.0.1" --no-tickets
refused "lanrage-relay on a busy STUN alternate port exits 1 naming --stun-alt-port" \
	"$TMP/b3.err" 'cannot listen for STUN on 127\.0\.0\.1:13479: .*--stun-alt-port' \
	"$BUILD/lanrage-relay" --listen 127.0.0.1:23821 --stun 127.0.0.1:13478 \
	--stun 127.0.0.2:13478 --no-tickets

# ---- (c) the daemon on a busy API port ----
mkdir -p "$TMP/state"
refused "lanrage daemon on a busy API port exits 1 naming the address" \
	"$TMP/c.err" "^lanrage: .*127\.0\.0\.1:$API_BUSY" \
	"$BUILD/lanrage" daemon --api "127.0.0.1:$API_BUSY" --state-dir "$TMP/state" \
	--interface "lrsv$$"

# ---- (d) a relay with a wrong secret, while the control server runs ----
(umask 077 && echo right-secret >"$TMP/secret" && echo wrong-secret >"$TMP/wrong")
nl_spawn s "$TMP/ctl.log" "$BUILD/lanrage-control" --insecure --listen 127.0.0.1:18667 \
	--db "$TMP/ctl.db" --relay-secret-file "$TMP/secret" >/dev/null
for _ in $(seq 100); do grep -q 'listening on' "$TMP/ctl.log" && break; sleep 0.05; done
refused "a relay with a wrong relay secret exits 1 saying the server refused it" \
	"$TMP/d.err" 'control server at ws://127\.0\.0\.1:18667 refused our relay secret.*--relay-secret-file' \
	"$BUILD/lanrage-relay" --listen 127.0.0.1:23822 --no-stun --control ws://127.0.0.1:18667 \
	--control-insecure --relay-secret-file "$TMP/wrong" --public-endpoint 127.0.0.1:23822
nl_spawn s "$TMP/good.log" "$BUILD/lanrage-relay" --listen 127.0.0.1:23823 --no-stun \
	--control ws://127.0.0.1:18667 --control-insecure --relay-secret-file "$TMP/secret" \
	--public-endpoint 127.0.0.1:23823 >/dev/null
for _ in $(seq 100); do grep -q 'registered with' "$TMP/good.log" && break; sleep 0.05; done
check "a relay with the right secret registers" grep -q 'registered with' "$TMP/good.log"

# ---- (e) control without a relay secret warns ----
check "control with a relay secret does not warn about it" \
	bash -c "! grep -q 'no relay secret' '$TMP/ctl.log'"
nl_spawn s "$TMP/e.log" "$BUILD/lanrage-control" --insecure --listen 127.0.0.1:18668 \
	--db "$TMP/e.db" >/dev/null
for _ in $(seq 100); do grep -q 'listening on' "$TMP/e.log" && break; sleep 0.05; done
check "control without a relay secret warns once, naming --relay-secret-file" \
	test "$(grep -c 'no relay secret.*--relay-secret-file.*no relay fallback' "$TMP/e.log")" -eq 1

# ---- (f) --version, --help, unknown options ----
VERSION=$(sed -n "s/^\s*version: '\([^']*\)'.*/\1/p" "$ROOT/meson.build")
for prog in lanrage lanrage-control lanrage-relay lanrage-wg; do
	out=$("$BUILD/$prog" --version 2>&1)
	rc=$?
	check "$prog --version prints '$prog $VERSION' and exits 0" \
		test "$rc:$out" = "0:$prog $VERSION"
done
for prog in lanrage-control lanrage-relay; do
	check "$prog --help prints usage to stdout, exit 0" \
		bash -c "'$BUILD/$prog' --help 2>/dev/null | grep -q -- '--listen'"
	"$BUILD/$prog" --no-such-option >"$TMP/f.out" 2>"$TMP/f.err"
	rc=$?
	check "$prog with an unknown option: one line naming it, exit 2" \
		test "$rc:$(wc -l <"$TMP/f.err"):$(grep -c -- "--no-such-option.*--help" "$TMP/f.err")" = "2:1:1"
done

echo "$FAILS failure(s)"
exit "$FAILS"
