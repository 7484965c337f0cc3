#!/usr/bin/env python3
"""Self-test of tests/tools/promcheck.py: a well-formed exposition passes, and
each bad one (a single fault spliced into it) is rejected with exit 1 and a
message naming the fault. Prints "promcheck self-test: N passed, M failed";
exits 1 on any failure. Needs nothing but python3.
"""
import os
import subprocess
import sys

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "promcheck.py")

GOOD = """\
# HELP lanrage_relay_forwarded_bytes_total Bytes forwarded.
# TYPE lanrage_relay_forwarded_bytes_total counter
lanrage_relay_forwarded_bytes_total 123456
# HELP lanrage_relay_refused_total Binds refused, by reason.
# TYPE lanrage_relay_refused_total counter
lanrage_relay_refused_total{reason="mac"} 0
lanrage_relay_refused_total{reason="full"} 2
# TYPE lanrage_peer_rtt_seconds gauge
lanrage_peer_rtt_seconds{peer_id="p1",name="a \\"quoted\\" \\\\ name\\n",virtual_ip="10.66.0.2"} 0.0012
lanrage_peer_rtt_seconds{virtual_ip="10.66.0.3",name="b",peer_id="p2"} NaN
# HELP lanrage_control_request_duration_seconds Request latency.
# TYPE lanrage_control_request_duration_seconds histogram
lanrage_control_request_duration_seconds_bucket{type="join",le="0.001"} 1
lanrage_control_request_duration_seconds_bucket{type="join",le="0.01"} 4
lanrage_control_request_duration_seconds_bucket{type="join",le="+Inf"} 5
lanrage_control_request_duration_seconds_sum{type="join"} 0.25
lanrage_control_request_duration_seconds_count{type="join"} 5
lanrage_control_request_duration_seconds_bucket{type="create",le="0.001"} 0
lanrage_control_request_duration_seconds_bucket{type="create",le="0.01"} 0
lanrage_control_request_duration_seconds_bucket{type="create",le="+Inf"} 0
lanrage_control_request_duration_seconds_sum{type="create"} 0
lanrage_control_request_duration_seconds_count{type="create"} 0
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.4e+07
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 0.5 1700000000000
"""

HIST = "lanrage_control_request_duration_seconds"

# (what is wrong, text to replace in GOOD, replacement, expected message part)
BAD = [
    ("duplicate series", "lanrage_relay_forwarded_bytes_total 123456\n",
     "lanrage_relay_forwarded_bytes_total 123456\nlanrage_relay_forwarded_bytes_total 123457\n",
     "duplicate series"),
    ("duplicate series, labels in another order",
     'lanrage_peer_rtt_seconds{virtual_ip="10.66.0.3",name="b",peer_id="p2"} NaN\n',
     'lanrage_peer_rtt_seconds{virtual_ip="10.66.0.3",name="b",peer_id="p2"} NaN\n'
     'lanrage_peer_rtt_seconds{peer_id="p2",name="b",virtual_ip="10.66.0.3"} 1\n',
     "duplicate series"),
    ("buckets not cumulative", HIST + '_bucket{type="join",le="0.01"} 4',
     HIST + '_bucket{type="join",le="0.01"} 0', "not cumulative"),
    ("no +Inf bucket", HIST + '_bucket{type="create",le="+Inf"} 0\n', "",
     'do not end in le="+Inf"'),
    ("_count differs from +Inf", HIST + '_count{type="join"} 5', HIST + '_count{type="join"} 6',
     "differs from the +Inf bucket"),
    ("no _count", HIST + '_count{type="create"} 0\n', "", "no _count"),
    ("no _sum", HIST + '_sum{type="join"} 0.25\n', "", "no _sum"),
    ("buckets out of order",
     HIST + '_bucket{type="join",le="0.001"} 1\n' + HIST + '_bucket{type="join",le="0.01"} 4\n',
     HIST + '_bucket{type="join",le="0.01"} 4\n' + HIST + '_bucket{type="join",le="0.001"} 1\n',
     "increasing le order"),
    ("bucket without le", HIST + '_bucket{type="join",le="0.001"} 1', HIST + '_bucket{type="join"} 1',
     "without le"),
    ("sample without # TYPE", "# TYPE process_resident_memory_bytes gauge\n", "",
     "before any # TYPE"),
    ("sample before its # TYPE",
     "# TYPE lanrage_relay_forwarded_bytes_total counter\nlanrage_relay_forwarded_bytes_total 123456\n",
     "lanrage_relay_forwarded_bytes_total 123456\n# TYPE lanrage_relay_forwarded_bytes_total counter\n",
     "before any # TYPE"),
    ("family split in two blocks", "# TYPE process_cpu_seconds_total counter\n",
     "# TYPE process_cpu_seconds_total counter\n"
     'lanrage_relay_refused_total{reason="rate"} 1\n', "outside its family's block"),
    ("# TYPE twice", "# TYPE process_cpu_seconds_total counter\n",
     "# TYPE process_cpu_seconds_total counter\n# TYPE process_cpu_seconds_total counter\n",
     "given twice"),
    ("counter without _total", "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes",
     "# TYPE process_resident_memory_bytes counter\nprocess_resident_memory_bytes",
     "must end in _total"),
    ("negative counter", "lanrage_relay_forwarded_bytes_total 123456",
     "lanrage_relay_forwarded_bytes_total -1", "counter value"),
    ("name without the prefix", "process_resident_memory_bytes",
     "go_resident_memory_bytes", "name does not match"),
    ("unknown type", "process_resident_memory_bytes gauge", "process_resident_memory_bytes gauges",
     "unknown type"),
    ("bad value", "lanrage_relay_forwarded_bytes_total 123456", "lanrage_relay_forwarded_bytes_total 12x",
     "does not parse"),
    ("bad escape in a label", 'name="b"', 'name="b\\t"', "does not parse"),
    ("unterminated label value", 'reason="full"} 2', 'reason="full} 2', "does not parse"),
    ("bare histogram sample", HIST + '_sum{type="join"} 0.25',
     HIST + '_sum{type="join"} 0.25\n' + HIST + '{type="join"} 1', "_bucket, _sum and _count"),
    ("nothing at all", GOOD, "# TYPE lanrage_x gauge\n", "no samples at all"),
]


def run(text):
    p = subprocess.run([sys.executable, TOOL, "-"], input=text, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def main():
    passed = failed = 0

    def result(ok, what, out=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("PASS " + what)
        else:
            failed += 1
            print("FAIL " + what)
            for line in out.strip().split("\n"):
                print("    " + line)

    rc, out = run(GOOD)
    result(rc == 0 and "ok," in out, "a good exposition passes", out)
    for what, old, new, expect in BAD:
        if old not in GOOD:
            result(False, "%s: the test's splice point is not in the good sample" % what)
            continue
        rc, out = run(GOOD.replace(old, new, 1))
        result(rc == 1 and expect in out, "rejected: %s" % what, out)
    print("promcheck self-test: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
