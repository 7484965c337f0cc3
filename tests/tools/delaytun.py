#!/usr/bin/env python3
"""delaytun: a fixed delay for the packets routed into a TUN device.

    delaytun.py DEV DELAY_MS

Opens the TUN device DEV (created, IFF_TUN | IFF_NO_PI) and writes every
IP packet read from it back into it DELAY_MS milliseconds later, in order.
A packet the kernel routes into DEV thus comes out of DEV again, as
received on it, and is routed on from there: with a policy rule sending a
router's LAN traffic into DEV (`ip -6 rule add iif lan0 lookup T`, `ip -6
route add default dev DEV table T`), that traffic leaves DELAY_MS later by the
main table. It stands in for netem, which the lab's kernel lacks.

Prints "ready" once DEV exists (the caller brings it up and routes into
it); runs until killed. Packets are kept in memory only while delayed;
more than MAX_QUEUED waiting are dropped, as a full queue would.
"""
import collections
import fcntl
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_QUEUED = 4096


def tun_open(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: delaytun.py DEV DELAY_MS\n")
        return 2
    dev, delay = sys.argv[1], float(sys.argv[2]) / 1000.0
    fd = tun_open(dev)
    queue = collections.deque()
    print("ready", flush=True)
    while True:
        timeout = None
        if queue:
            timeout = max(0.0, queue[0][0] - time.monotonic())
        readable, _, _ = select.select([fd], [], [], timeout)
        if readable:
            while True:
                try:
                    pkt = os.read(fd, 65535)
                except BlockingIOError:
                    break
                if len(queue) < MAX_QUEUED:
                    queue.append((time.monotonic() + delay, pkt))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            try:
                os.write(fd, queue.popleft()[1])
            except OSError:
                pass  # a packet the kernel refuses is lost, as on a wire


if __name__ == "__main__":
    sys.exit(main())
