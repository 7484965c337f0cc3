#!/usr/bin/env python3
"""Accept one TCP connection and write everything received to a file."""
import socket
import sys

fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
port = int(sys.argv[2])
srv = socket.socket(fam, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
srv.listen(1)
srv.settimeout(30)
conn, _ = srv.accept()
conn.settimeout(30)
with open(sys.argv[3], "wb") as out:
    while True:
        data = conn.recv(1 << 16)
        if not data:
            break
        out.write(data)
conn.close()
