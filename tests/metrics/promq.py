#!/usr/bin/env python3
"""Queries a Prometheus through its HTTP API for tests/metrics/run.sh.

    promq.py URL targets N SECONDS   waits until N targets are all up;
                                     prints each (job, url, health, error)
    promq.py URL value QUERY         instant query: one line per series,
                                     "metric{labels} value"; exit 1 when empty
    promq.py URL dashboard FILE      every query of a Grafana dashboard
                                     ($__rate_interval as 10s, $member as .*)
                                     must be accepted and return a series
    promq.py URL rtt VIP SECONDS CLI...
        runs CLI (`lanrage status --json`) every 0.2 s for SECONDS, then reads
        the raw samples of lanrage_peer_rtt_seconds{virtual_ip=VIP} that
        Prometheus scraped meanwhile; each must equal x 1000 the rtt_ms that
        member had in a status taken within RTT_WINDOW (1 s) of its scrape.
        The daemon re-measures RTT once per echo (monitor_interval_ms, 2 s by
        default) and both views print the same double, so equality is exact
        but for the /1000 (relative 1e-9), and a scrape is never more than
        one scrape interval (1 s) from a status reading that saw its value.
"""
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request

RTT_WINDOW = 1.0
STATUS_PERIOD = 0.2


def api(base, path, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError("%s: %s" % (path, body))
    return body["data"]


def show(metric):
    labels = ",".join('%s="%s"' % kv for kv in sorted(metric.items()) if kv[0] != "__name__")
    return "%s{%s}" % (metric.get("__name__", ""), labels)


def cmd_targets(base, n, seconds):
    end = time.time() + float(seconds)
    while True:
        try:
            active = api(base, "/api/v1/targets", state="active")["activeTargets"]
        except (OSError, RuntimeError):
            active = []
        up = [t for t in active if t["health"] == "up"]
        if len(active) == int(n) and len(up) == len(active):
            break
        if time.time() > end:
            break
        time.sleep(0.3)
    for t in active:
        print("%s %s %s %s" % (t["labels"].get("job"), t["scrapeUrl"], t["health"],
                               t.get("lastError") or "-"))
    return 0 if len(active) == int(n) and len(up) == len(active) else 1


def cmd_value(base, query):
    res = api(base, "/api/v1/query", query=query)["result"]
    for s in res:
        print("%s %s" % (show(s["metric"]), s["value"][1]))
    return 0 if res else 1


def dashboard_exprs(dash):
    """(panel title, expr) of every query in a Grafana dashboard."""
    for p in dash.get("panels", []):
        for sub in [p] + p.get("panels", []):
            for t in sub.get("targets", []):
                yield sub.get("title", "?"), t["expr"]
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict) and q.get("query", "").startswith("label_values("):
            # label_values(METRIC, LABEL): the series Grafana reads the values from
            yield "variable " + v["name"], q["query"][len("label_values("):].split(",")[0]


def cmd_dashboard(base, path):
    with open(path) as f:
        dash = json.load(f)
    bad = n = 0
    for title, expr in dashboard_exprs(dash):
        q = expr.replace("$__rate_interval", "10s").replace("$member", ".*")
        n += 1
        try:
            res = api(base, "/api/v1/query", query=q)["result"]
            err = "" if res else "no series"
        except (OSError, RuntimeError) as e:
            res, err = [], str(e)
        if err:
            bad += 1
            print("%s: %s: %s" % (title, q, err))
    print("%d queries, %d without an answer" % (n, bad))
    return 0 if n and not bad else 1


def member_rtt(cli, vip):
    out = subprocess.run(cli, capture_output=True, text=True, timeout=10).stdout
    for m in json.loads(out).get("members", []):
        if m.get("virtual_ip") == vip:
            return m.get("rtt_ms")
    return None


def cmd_rtt(base, vip, seconds, cli):
    readings = []  # (time, rtt_ms)
    start = time.time()
    while time.time() - start < float(seconds):
        t0 = time.time()
        rtt = member_rtt(cli, vip)
        readings.append(((t0 + time.time()) / 2, rtt))
        time.sleep(STATUS_PERIOD)
    query = 'lanrage_peer_rtt_seconds{virtual_ip="%s"}[%ds]' % (vip, int(float(seconds)))
    res = api(base, "/api/v1/query", query=query, time="%.3f" % readings[-1][0])["result"]
    if len(res) != 1:
        print("rtt %s: %d series for %s" % (vip, len(res), query))
        return 1
    checked = bad = 0
    for ts, val in res[0]["values"]:
        ts, val = float(ts), float(val)
        if ts < readings[0][0] + RTT_WINDOW or ts > readings[-1][0] - RTT_WINDOW:
            continue  # not enough status readings around it
        near = [r for t, r in readings if abs(t - ts) <= RTT_WINDOW and r is not None]
        checked += 1
        ok = any(abs(val * 1000 - r) <= 1e-9 * max(r, 1e-3) for r in near)
        if not ok:
            bad += 1
            print("rtt %s: Prometheus %.9f s at %.3f, status within %.1f s: %s ms"
                  % (vip, val, ts, RTT_WINDOW, ", ".join("%.6f" % r for r in sorted(set(near)))))
    values = sorted(set(r for _, r in readings if r is not None))
    print("rtt %s: %d scrapes compared with %d status readings (%d distinct RTTs, %.3f-%.3f ms), "
          "%d differ" % (vip, checked, len(readings), len(values), values[0] if values else 0,
                         values[-1] if values else 0, bad))
    return 0 if checked >= 2 and bad == 0 else 1


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    base, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "targets":
        return cmd_targets(base, *args)
    if cmd == "value":
        return cmd_value(base, *args)
    if cmd == "dashboard":
        return cmd_dashboard(base, *args)
    if cmd == "rtt":
        return cmd_rtt(base, args[0], args[1], args[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
