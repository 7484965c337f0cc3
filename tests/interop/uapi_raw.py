#!/usr/bin/env python3
"""Send one raw request to a UAPI socket; print the reply's last non-empty line
(the errno line), or nothing if the server closed without replying."""
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(5)
s.sendall(sys.argv[2].encode())
data = b""
try:
    while not data.endswith(b"\n\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    pass
lines = [l for l in data.decode(errors="replace").split("\n") if l]
print(lines[-1] if lines else "")
