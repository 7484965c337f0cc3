#!/usr/bin/env python3
"""tests/disco/dgram.py: the UDP ends of the LAN discovery tests.

Every received datagram is printed as one line
    FROM <source ip> <source port> <payload>
with the payload as the escaped text of a Python bytes literal (so
b'\\xff\\xff\\xff\\xffinfoResponse\\n...' prints as \\xff\\xff\\xff\\xffinfoResponse\\n...).
PAYLOAD arguments take the same escapes (\\x03\\x00\\x00); "{i}" in a payload
becomes the sequence number (1, 2, ...).

  query DST PORTS PAYLOAD REPEAT WAIT
      what a game client's LAN search does: from one unbound socket with
      SO_BROADCAST, send PAYLOAD to DST on each port of PORTS (27960-27963 or
      3979), REPEAT rounds back to back, then print the answers for WAIT s
  listen PORT SECONDS
      bind 0.0.0.0:PORT (SO_REUSEADDR) and print what arrives for SECONDS
  send DST PORT PAYLOAD COUNT INTERVAL [SPORT]
      COUNT datagrams, INTERVAL s apart, from SPORT (default: unbound)
  announce NAME PORT COUNT INTERVAL SECONDS GOFILE
      one socket bound to 0.0.0.0:PORT sends "ann NAME {i}" to
      255.255.255.255:PORT COUNT times INTERVAL s apart, starting when the
      file GOFILE exists, and prints what arrives until SECONDS after that
      (a Warcraft III host: source and destination port the same)
  storm DST PORT RATE SECONDS [SOURCES]
      RATE datagrams/s in all to DST:PORT for SECONDS, "storm K N" from
      SOURCES sockets (default 1) in turn (K = the socket, N = the count);
      prints "sent N in S s"
Prints "ready" once its socket is open (listen, announce).
"""
import codecs
import os
import socket
import sys
import time


def payload_bytes(text, i=0):
    return codecs.escape_decode(text.replace("{i}", str(i)).encode())[0]


def show(data, addr):
    print("FROM %s %d %s" % (addr[0], addr[1], repr(bytes(data))[2:-1]), flush=True)


def ports(spec):
    if "-" in spec:
        lo, hi = spec.split("-")
        return range(int(lo), int(hi) + 1)
    return [int(p) for p in spec.split(",")]


def bcast_socket(bind_port=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if bind_port is not None:
        s.bind(("0.0.0.0", bind_port))
    return s


def receive_until(s, end):
    while True:
        left = end - time.time()
        if left <= 0:
            return
        s.settimeout(left)
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            return
        show(data, addr)


def main(argv):
    cmd = argv[1]
    if cmd == "query":
        dst, pspec, text, repeat, wait = argv[2:7]
        s = bcast_socket()
        for _ in range(int(repeat)):
            for p in ports(pspec):
                s.sendto(payload_bytes(text), (dst, p))
        receive_until(s, time.time() + float(wait))
    elif cmd == "listen":
        port, seconds = int(argv[2]), float(argv[3])
        s = bcast_socket(port)
        print("ready", flush=True)
        receive_until(s, time.time() + seconds)
    elif cmd == "send":
        dst, port, text, count, interval = argv[2:7]
        s = bcast_socket(int(argv[7]) if len(argv) > 7 else None)
        for i in range(1, int(count) + 1):
            s.sendto(payload_bytes(text, i), (dst, int(port)))
            if i < int(count):
                time.sleep(float(interval))
    elif cmd == "announce":
        name, port, count, interval, seconds, gofile = argv[2:8]
        port, count, interval = int(port), int(count), float(interval)
        s = bcast_socket(port)
        print("ready", flush=True)
        while not os.path.exists(gofile):
            receive_until(s, time.time() + 0.01)
        start = time.time()
        end = start + float(seconds)
        for i in range(1, count + 1):
            s.sendto(("ann %s %d" % (name, i)).encode(), ("255.255.255.255", port))
            receive_until(s, start + i * interval)
        receive_until(s, end)
    elif cmd == "storm":
        dst, port, rate, seconds = argv[2], int(argv[3]), int(argv[4]), float(argv[5])
        socks = [bcast_socket() for _ in range(int(argv[6]) if len(argv) > 6 else 1)]
        t0 = time.time()
        n = 0
        # batches every 10 ms keep the rate without a timer per datagram
        while True:
            now = time.time()
            if now - t0 >= seconds:
                break
            due = int((now - t0) * rate) + 1
            while n < due:
                n += 1
                k = n % len(socks)
                try:
                    socks[k].sendto(b"storm %d %d" % (k, n), (dst, port))
                except OSError:
                    pass  # a full queue: the storm goes on
            time.sleep(0.01)
        print("sent %d in %.2f s" % (n, time.time() - t0), flush=True)
    else:
        sys.exit("dgram.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
