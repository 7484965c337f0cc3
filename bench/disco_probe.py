#!/usr/bin/env python3
"""bench/disco_probe.py: the two ends of bench/disco-latency.

  disco_probe.py send --tag T --dst ADDR --port P --count N --rate R
                      [--bind ADDR] [--broadcast] [--sources K] [--first SEQ]
      Sends N datagrams, R per second (open loop: a late one does not delay
      the next), each "\\xff\\xff\\xff\\xffgetinfo lrbench T SEQ NS" where NS
      is CLOCK_REALTIME in ns just before sendto. --broadcast: from unbound
      sockets with SO_BROADCAST, as a game's LAN query; --bind: from that
      address (the baseline, virtual IP to virtual IP). --sources K spreads
      the datagrams over K sockets (K source ports, K rate-limit buckets).
      Sequence numbers start at SEQ (0), so rounds can be pooled.
      Prints "sent N".

  disco_probe.py recv --port P [--port P2 ...] --seconds S --out FILE
      Binds 0.0.0.0 on each port, prints "ready", and for S seconds writes
      one line per datagram: "TAG SEQ LATENCY_US SOURCE_IP PORT", latency =
      the kernel's receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) minus
      NS. Network namespaces share the clock, so this is one-way latency.

  disco_probe.py stats FILE TAG SENT
      Prints "received dup lost p50_us p99_us max_us sources" for TAG.
"""
import argparse
import select
import socket
import struct
import sys
import time

PREFIX = b"\xff\xff\xff\xffgetinfo lrbench "
# Linux's SO_TIMESTAMPNS (= SCM_TIMESTAMPNS); Python's socket module lacks it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def send(a):
    socks = []
    for _ in range(a.sources):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if a.broadcast:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if a.bind:
            s.bind((a.bind, 0))
        socks.append(s)
    start = time.monotonic()
    for i in range(a.count):
        due = start + i / a.rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        msg = PREFIX + b"%s %d %d" % (a.tag.encode(), a.first + i, time.time_ns())
        socks[i % len(socks)].sendto(msg, (a.dst, a.port))
    print("sent %d" % a.count, flush=True)


def recv(a):
    socks = []
    for p in a.port:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind(("0.0.0.0", p))
        socks.append(s)
    print("ready", flush=True)
    end = time.monotonic() + a.seconds
    with open(a.out, "w") as out:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select(socks, [], [], left)
            for s in ready:
                data, anc, _, src = s.recvmsg(2048, 64)
                ts = None
                for level, typ, val in anc:
                    if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                        sec, nsec = struct.unpack("qq", val[:16])
                        ts = sec * 1000000000 + nsec
                if ts is None:
                    ts = time.time_ns()
                if not data.startswith(PREFIX):
                    continue
                try:
                    tag, seq, ns = data[len(PREFIX):].split()
                except ValueError:
                    continue
                out.write("%s %s %.1f %s %d\n" % (tag.decode(), seq.decode(),
                                                  (ts - int(ns)) / 1000.0, src[0],
                                                  s.getsockname()[1]))
                out.flush()


def pct(v, q):
    """Nearest rank."""
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(round(q * len(v) + 0.5)) - 1))
    return v[k]


def stats(a):
    lat, seen, dup, srcs = [], set(), 0, set()
    with open(a.file) as f:
        for line in f:
            w = line.split()
            if len(w) < 4 or w[0] != a.tag:
                continue
            if w[1] in seen:
                dup += 1
                continue
            seen.add(w[1])
            lat.append(float(w[2]))
            srcs.add(w[3])
    lat.sort()
    print("%d %d %d %.1f %.1f %.1f %s" % (len(lat), dup, a.sent - len(lat), pct(lat, 0.5),
                                          pct(lat, 0.99), lat[-1] if lat else float("nan"),
                                          ",".join(sorted(srcs)) or "-"))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--tag", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--rate", type=float, required=True)
    s.add_argument("--bind")
    s.add_argument("--broadcast", action="store_true")
    s.add_argument("--sources", type=int, default=1)
    s.add_argument("--first", type=int, default=0)
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, action="append", required=True)
    r.add_argument("--seconds", type=float, required=True)
    r.add_argument("--out", required=True)
    t = sub.add_parser("stats")
    t.add_argument("file")
    t.add_argument("tag")
    t.add_argument("sent", type=int)
    a = ap.parse_args()
    {"send": send, "recv": recv, "stats": stats}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
