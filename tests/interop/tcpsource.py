#!/usr/bin/env python3
"""Connect (retrying while the sink starts) and send a file over TCP."""
import socket
import sys
import time

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.time() + 10
while True:
    try:
        s = socket.create_connection((host, port), timeout=30)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
with open(path, "rb") as f:
    s.sendall(f.read())
s.shutdown(socket.SHUT_WR)
s.settimeout(30)
while s.recv(4096):
    pass
s.close()
