#!/usr/bin/env python3
"""An impostor control server for tests/daemon/test_tls.sh.

Listens with TLS on ADDR:PORT with its own certificate and key, and to any
client that completes the TLS handshake answers the WebSocket upgrade, then
sends a hello and a forged peer_updated that moves the member PEER_ID onto
an attacker's key. It counts, in STATS (JSON), the TLS handshakes completed
and the HTTP requests read: a client that checks the server's pin aborts the
handshake, so both stay 0 and nothing forged is ever read.

usage: impostor.py ADDR PORT CERT KEY STATS PARTY_ID PEER_ID
"""
import base64
import hashlib
import json
import os
import socket
import ssl
import sys


def ws_frame(text):
    data = text.encode()
    n = len(data)
    if n < 126:
        head = bytes([0x81, n])
    else:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    return head + data


def forged(party_id, peer_id):
    attacker = base64.b64encode(os.urandom(32)).decode()
    hello = {"type": "hello", "v": 1, "server": "impostor",
             "challenge": base64.b64encode(os.urandom(32)).decode(),
             "server_key": base64.b64encode(os.urandom(32)).decode()}
    upd = {"type": "event", "event": "peer_updated", "party_id": party_id,
           "peer": {"peer_id": peer_id, "name": "evil", "public_key": attacker,
                    "virtual_ip": "10.66.0.2", "endpoints": ["203.0.113.66:51820"]}}
    return [json.dumps(hello), json.dumps(upd)]


def serve(conn, stats, party_id, peer_id):
    stats["tls_ok"] += 1
    req = b""
    while b"\r\n\r\n" not in req and len(req) < 8192:
        chunk = conn.recv(4096)
        if not chunk:
            return
        req += chunk
    stats["http_requests"] += 1
    key = b""
    for line in req.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            key = line.split(b":", 1)[1].strip()
    accept = base64.b64encode(hashlib.sha1(
        key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    for m in forged(party_id, peer_id):
        conn.sendall(ws_frame(m))
        stats["forged_sent"] += 1


def main():
    addr, port, cert, key, stats_path, party_id, peer_id = sys.argv[1:8]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    stats = {"accepted": 0, "tls_ok": 0, "http_requests": 0, "forged_sent": 0}
    srv = socket.create_server((addr, int(port)))
    srv.settimeout(0.5)
    while True:
        with open(stats_path + ".tmp", "w") as f:
            json.dump(stats, f)
        os.replace(stats_path + ".tmp", stats_path)
        try:
            raw, _ = srv.accept()
        except socket.timeout:
            continue
        stats["accepted"] += 1
        raw.settimeout(3)
        try:
            with ctx.wrap_socket(raw, server_side=True) as conn:
                serve(conn, stats, party_id, peer_id)
        except (ssl.SSLError, OSError):
            pass
        finally:
            raw.close()


if __name__ == "__main__":
    main()
