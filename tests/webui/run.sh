#!/usr/bin/env bash
# tests/webui/run.sh: the web UI in Debian's chromium, driven by
# @playwright/test, against real daemons in natlab (root; issue 15).
#
# Lab: a control server, one relay, and three players: a behind a full-cone
# NAT, b and c each behind a symmetric NAT (a-b and a-c direct, b-c through
# the relay). c's name is `<img src=x onerror=window.__xss=1>`. Chromium runs
# inside a player's network namespace (a wrapper per player: ip netns exec),
# where that player's daemon answers on 127.0.0.1:8666; logins come from
# `lanrage ui --no-open` there. A static server on a's 127.0.0.1:8700 plays
# the hostile page of another origin.
#
# The specs (specs/*.spec.js, in order): party created in a's page, netcheck
# in b's, b joins by pasting the share code, both see each other direct with
# RTTs updating, c joins by the CLI and shows as text (relayed from b); the
# settings and games screens; the security checks (headers, one-time login,
# no session, no CSRF header, DNS rebinding, another origin's fetch and form);
# b leaves; c's daemon stops and comes back; the control server stops (the
# banner, and a create refused with the daemon's message).
#
# Prints "webui: N passed, M failed"; exits 0 only when nothing failed.
# Screenshots go to $WEBUI_OUT/screens (default tests/webui/out);
# UPDATE_SCREENSHOTS=1 copies them to docs/img/webui/. Extra arguments go to
# `playwright test` (e.g. -g settings). Run it under the lab lock:
#   flock /tmp/lr-lab.lock env BUILD=DIR tests/webui/run.sh
# Cleanup: nl_down on every exit path (EXIT trap set by e2e_lab) ends the
# daemons, the servers and every chromium (all inside the lab's namespaces).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../e2e/lib.sh"
e2e_require webui
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT=${WEBUI_OUT:-$HERE/out}
XSS_NAME='<img src=x onerror=window.__xss=1>'

for t in "$CHROMIUM" node npm; do
	command -v "$t" >/dev/null || {
		echo "webui: $t missing (scripts/install-deps.sh installs chromium and nodejs)" >&2
		exit 1
	}
done
if [ ! -d "$HERE/node_modules/@playwright/test" ]; then
	# the test runner only: Playwright's own browsers are never downloaded
	(cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) || {
		echo "webui: npm ci failed" >&2
		exit 1
	}
fi
rm -rf "$OUT"
mkdir -p "$OUT/screens"

T0=$SECONDS
e2e_lab wu 1 <<'EOF' || { echo "webui: lab setup failed"; exit 1; }
router na full-cone
host a na
router nb symmetric
host b nb
router nc symmetric
host c nc
EOF

# c under the hostile name: e2e_daemon names each daemon after its node
c_daemon=("$LANRAGE" daemon --control "$CTL_URL" --control-pin "$CTL_PIN" --state-dir "$E2E_DIR/c"
	--interface lrc --name "$XSS_NAME" --log-level debug)
mkdir -p "$E2E_DIR/c"
nl_spawn c "$E2E_DIR/c.log" "${c_daemon[@]}" >/dev/null
DPID[c]=${NL_PIDS[-1]}
e2e_daemon a b || { echo "webui: daemons did not start"; exit 1; }
for _ in $(seq 150); do lr c status >/dev/null 2>&1 && break; sleep 0.1; done
for n in a b c; do
	wait_control "$n" 20 || { echo "webui: $n not connected to the control server"; exit 1; }
done

for n in a b c; do
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$(nl_ns "$n")" "$CHROMIUM" >"$E2E_DIR/chromium-$n"
	chmod +x "$E2E_DIR/chromium-$n"
done
nl_spawn a "$E2E_DIR/evil.log" python3 -m http.server 8700 --bind 127.0.0.1 --directory "$HERE/evil" >/dev/null
for _ in $(seq 50); do nl_exec a ss -ltnH | grep -q '127.0.0.1:8700 ' && break; sleep 0.1; done

python3 - "$OUT/lab.json" "$E2E_DIR" "$LANRAGE" "$XSS_NAME" "$CTL_PID" "$(nl_ns a)" "$(nl_ns b)" "$(nl_ns c)" \
	"${c_daemon[@]}" <<'EOF'
import json, sys
out, d, lanrage, xss, ctl_pid, *rest = sys.argv[1:]
ns, daemon = dict(zip("abc", rest[:3])), rest[3:]
players = {}
for n in "abc":
    ex = ["ip", "netns", "exec", ns[n]]
    players[n] = {"base": "http://127.0.0.1:8666", "chromium": f"{d}/chromium-{n}", "ns": ns[n],
                  "state_dir": f"{d}/{n}", "cli": ex + [lanrage],
                  "login": ex + [lanrage, "ui", "--no-open", "--state-dir", f"{d}/{n}"]}
players["c"]["daemon"] = ["ip", "netns", "exec", ns["c"]] + daemon
json.dump({"players": players, "xss_name": xss, "evil": "http://127.0.0.1:8700/",
           "ctl_pid": int(ctl_pid), "ctl_url": "wss://203.0.113.30:8667"}, open(out, "w"), indent=1)
EOF

echo "  lab up in $((SECONDS - T0)) s"
T0=$SECONDS
(cd "$HERE" && WEBUI_LAB="$OUT/lab.json" WEBUI_OUT="$OUT" npx --no-install playwright test "$@")
rc=$?
read -r PASSES FAILS < <(python3 - "$OUT/results.json" <<'EOF'
import json, sys
try:
    s = json.load(open(sys.argv[1]))["stats"]
    print(s["expected"] + s["flaky"], s["unexpected"] + s["skipped"])
except Exception:
    print(0, 1)
EOF
)
[ "$rc" -eq 0 ] || [ "$FAILS" -gt 0 ] || FAILS=1 # the runner itself failed
if [ "$FAILS" -gt 0 ]; then dump_logs a b c; fi
echo "  playwright: $((SECONDS - T0)) s; screenshots in $OUT/screens"
if [ -n "${UPDATE_SCREENSHOTS:-}" ]; then
	mkdir -p "$E2E_ROOT/docs/img/webui"
	cp "$OUT"/screens/*.png "$E2E_ROOT/docs/img/webui/" && echo "  copied to docs/img/webui/"
fi
echo "webui: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
