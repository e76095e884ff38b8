#!/usr/bin/env python3
"""Outsider attacks on a running esealsd (issue 13, items 1 and 2), with a probe asking GET
/healthz from an address of its own all along. Used by tests/attack/slowloris.sh and
tests/attack/bodies.sh, which start the daemon; prints what it measured and exits 1 when a
bound was broken.

  attack.py slowloris --port P --pid PID [--seconds S] [--bound B]
      600 connections from 127.0.0.1 and 20 from each of 127.0.0.2..41, each sending its
      request head one byte every 2 s (connections that are closed are opened again), while a
      probe from 127.0.0.250 asks /healthz every 0.25 s and must be answered 200 within B s.
  attack.py bodies --port P --pid PID [--conns N] [--size BYTES] [--rss-mib M] [--bound B]
      N connections announce a body of BYTES bytes, half to a path no route takes and half to
      a route that answers 401 without a session, send all of it but the last byte and wait;
      the daemon's VmRSS must grow by less than M MiB over its value before the attack (the
      value differs between builds: a sanitizer build starts far higher) and /healthz be
      answered within B s.
"""
import argparse
import selectors
import socket
import sys
import threading
import time

PROBE_ADDR = "127.0.0.250"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Probe(threading.Thread):
    """GET /healthz from PROBE_ADDR every `every` seconds until stopped; records each answer's
    latency, or the failure."""

    def __init__(self, port, bound, every=0.25):
        super().__init__(daemon=True)
        self.port, self.bound, self.every = port, bound, every
        self.stop = threading.Event()
        self.ok = 0
        self.failures = []
        self.worst = 0.0

    def once(self):
        t0 = time.monotonic()
        s = socket.socket()
        s.settimeout(self.bound)
        try:
            s.bind((PROBE_ADDR, 0))
            s.connect(("127.0.0.1", self.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            took = time.monotonic() - t0
            if not data.startswith(b"HTTP/1.1 200"):
                return f"answered {data[:40]!r} after {took:.2f}s"
            self.worst = max(self.worst, took)
            return None
        except OSError as e:
            return f"{type(e).__name__} after {time.monotonic() - t0:.2f}s"
        finally:
            s.close()

    def run(self):
        while not self.stop.is_set():
            why = self.once()
            if why:
                self.failures.append(why)
            else:
                self.ok += 1
            self.stop.wait(self.every)


def slowloris(a):
    sel = selectors.DefaultSelector()
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 4000 + b"\r\n\r\n"
    # (source address, wanted connections)
    plan = [("127.0.0.1", 600)] + [(f"127.0.0.{i}", 20) for i in range(2, 42)]
    conns = {}  # socket -> [addr, bytes sent]
    have = {addr: 0 for addr, _ in plan}
    opened = closed = 0

    def open_one(addr):
        nonlocal opened
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((addr, 0))
            s.connect_ex(("127.0.0.1", a.port))
        except OSError:
            s.close()
            return
        conns[s] = [addr, 0]
        have[addr] += 1
        opened += 1
        sel.register(s, selectors.EVENT_READ)

    def drop(s):
        nonlocal closed
        sel.unregister(s)
        addr = conns.pop(s)[0]
        have[addr] -= 1
        closed += 1
        s.close()

    probe = Probe(a.port, a.bound)
    probe.start()
    t_end = time.monotonic() + a.seconds
    next_byte = time.monotonic()
    peak = 0
    while time.monotonic() < t_end:
        # Keep the planned number open, at most 100 new ones a round (a reconnect storm, bounded
        # so that the test does not starve the machine it runs on).
        budget = 100
        for addr, want in plan:
            while have[addr] < want and budget > 0:
                open_one(addr)
                budget -= 1
        for key, _ in sel.select(timeout=0.1):
            try:
                if not key.fileobj.recv(4096):
                    drop(key.fileobj)
            except OSError:
                drop(key.fileobj)
        if time.monotonic() >= next_byte:
            next_byte = time.monotonic() + 2.0
            for s in list(conns):
                c = conns[s]
                try:
                    c[1] += s.send(head[c[1]:c[1] + 1])
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    drop(s)
        peak = max(peak, len(conns))
    probe.stop.set()
    probe.join()
    rss = rss_kib(a.pid)
    print(f"slowloris: {opened} connections opened, {closed} closed by the server or failed, "
          f"{peak} open at most; probe: {probe.ok} answered, worst {probe.worst:.3f}s, "
          f"{len(probe.failures)} failed; daemon VmRSS {rss // 1024} MiB")
    for f in probe.failures[:5]:
        print("  probe failed:", f)
    for s in list(conns):
        drop(s)
    return 0 if not probe.failures and probe.ok > 0 else 1


def bodies(a):
    # A path no route takes; a route that needs a session; a signed request naming a business
    # system that is not registered (a signature covers the body, so only the header's shape
    # and the client's registration can be checked before it).
    targets = [b"POST /no/such/path HTTP/1.1\r\n", b"GET /api/v1/users HTTP/1.1\r\n",
               b"POST /api/v1/clients HTTP/1.1\r\nAuthorization: ESEAL-SM2 client=\"nobody\", "
               b"timestamp=\"2026-01-01T00:00:00Z\", nonce=\"0123456789abcdef0123456789abcdef\", "
               b"signature=\"" + b"A" * 88 + b"\"\r\n"]
    socks = []
    refused_early = 0
    base = rss_kib(a.pid)
    probe = Probe(a.port, a.bound)
    probe.start()
    peak = 0
    chunk = b"x" * 65536
    for i in range(a.conns):
        s = socket.socket()
        s.bind((f"127.0.1.{1 + i % 200}", 0))
        s.connect(("127.0.0.1", a.port))
        s.sendall(targets[i % len(targets)] + b"Host: x\r\nContent-Type: application/json\r\n" +
                  b"Content-Length: %d\r\n\r\n" % a.size)
        socks.append(s)
    # Every body but its last byte, round robin, each send bounded by a timeout: a server that
    # has answered and stopped reading ends that connection's part early.
    sent = [0] * len(socks)
    live = set(range(len(socks)))
    t_end = time.monotonic() + a.seconds
    while live and time.monotonic() < t_end:
        for i in list(live):
            s = socks[i]
            n = min(len(chunk), a.size - 1 - sent[i])
            if n <= 0:
                live.discard(i)
                continue
            s.settimeout(0.05)
            try:
                sent[i] += s.send(chunk[:n])
            except socket.timeout:
                pass
            except OSError:
                live.discard(i)
                refused_early += 1
        peak = max(peak, rss_kib(a.pid))
    # Hold them open a moment while the probe keeps asking.
    t_hold = time.monotonic() + 3
    while time.monotonic() < t_hold:
        peak = max(peak, rss_kib(a.pid))
        time.sleep(0.1)
    probe.stop.set()
    probe.join()
    total = sum(sent)
    for s in socks:
        s.close()
    print(f"bodies: {a.conns} connections announcing {a.size} bytes each, {total // (1 << 20)} "
          f"MiB sent, {refused_early} cut off by the server; daemon VmRSS {base // 1024} MiB before, "
          f"peak {peak // 1024} MiB (growth bound {a.rss_mib} MiB); probe: {probe.ok} answered, "
          f"worst {probe.worst:.3f}s, "
          f"{len(probe.failures)} failed")
    for f in probe.failures[:5]:
        print("  probe failed:", f)
    ok = (peak - base) // 1024 < a.rss_mib and not probe.failures and probe.ok > 0
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["slowloris", "bodies"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--seconds", type=float, default=25)
    p.add_argument("--bound", type=float, default=2.0)
    p.add_argument("--conns", type=int, default=100)
    p.add_argument("--size", type=int, default=16 << 20)
    p.add_argument("--rss-mib", type=int, default=200)
    a = p.parse_args()
    return slowloris(a) if a.mode == "slowloris" else bodies(a)


if __name__ == "__main__":
    sys.exit(main())
