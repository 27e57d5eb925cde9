#!/usr/bin/python3
"""tests/manager/probe.py SOCKET REQUEST SECONDS: send REQUEST to ztierd's
control socket every 50 ms for SECONDS (or until the file SOCKET.stop
exists) and print, per exchange, the milliseconds from connect to the end
of the reply and the reply's first line.  One process for all exchanges:
what is measured is ztierd, not the start of a client program."""
import os
import socket
import sys
import time

path, request, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.monotonic() + seconds
while time.monotonic() < end and not os.path.exists(path + ".stop"):
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(request.encode() + b"\n")
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    s.close()
    ms = (time.monotonic() - t0) * 1000
    first = reply.split(b"\n", 1)[0].decode(errors="replace")
    rest = reply.decode(errors="replace")
    state = "stopping" if "\tstopping\t" in rest else "-"
    print(f"{ms:.1f} {first} {state}", flush=True)
    time.sleep(0.05)
