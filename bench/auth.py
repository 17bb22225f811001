#!/usr/bin/env python3
"""Basic auth under a wrong-password flood (docs/secure-endpoints.md).

The flood runs in a process of its own (optionally pinned to one CPU with
--flood-cpu, the daemon then on the others: a remote attacker's CPU is not
the daemon's); the correct logins are timed from this process.

Starts `flowprobe run` (release build) with basic auth on 127.0.0.1, lets
N clients (default 512) from 127.0.0.1 send wrong passwords as fast as
they can for a bounded time, and meanwhile measures, from another source
address (127.0.0.2), how long a correct login takes: the first one (not yet
cached, so a real bcrypt check) and the following ones. Loopback only;
stops by itself; removes what it made.

    python3 bench/auth.py [--flowprobe target/release/flowprobe] [--clients 512] [--seconds 20] [--flood-cpu 1]
"""
import argparse
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HASH = "$2b$10$qQpFTYPQONH2LOYsfAWHrujloVDzTJXoJWt37j8/2EyK5iWYUiDPu"  # flowprobe-example


def request(port, password, source="127.0.0.1", timeout=30.0):
    """Status code of GET /metrics with basic auth, from `source`."""
    token = base64.b64encode(f"prometheus:{password}".encode()).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as s:
        s.sendall(
            f"GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = s.recv(64)
    parts = data.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def flood_only(port, clients, seconds, sent_file):
    """The wrong-password flood: `clients` threads for `seconds`."""
    stop = time.time() + seconds
    sent = [0]
    lock = threading.Lock()

    def flood(i):
        n = 0
        while time.time() < stop:
            try:
                request(port, f"wrong-{i}-{n}", timeout=5)
            except OSError:
                pass
            n += 1
        with lock:
            sent[0] += n

    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    with open(sent_file, "w") as f:
        f.write(str(sent[0]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowprobe", default="target/release/flowprobe")
    ap.add_argument("--clients", type=int, default=512)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--flood-cpu", type=int, default=None,
                    help="pin the flood (taskset) to this CPU and the daemon to the others: "
                         "a remote attacker's CPU is not the daemon's")
    ap.add_argument("--flood-only", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--sent-file", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.flood_only:
        flood_only(a.flood_only, a.clients, a.seconds, a.sent_file)
        return
    work = tempfile.mkdtemp(prefix="flowprobe-bench-auth.")
    daemon = None
    try:
        with open(os.path.join(work, "web.yml"), "w") as f:
            f.write(f"basic_auth_users:\n  prometheus: {HASH}\n")
        with open(os.path.join(work, "flowprobe.toml"), "w") as f:
            f.write('catalog = "none"\n')
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        pin_daemon, pin_flood = [], []
        if a.flood_cpu is not None:
            others = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)) if c != a.flood_cpu)
            pin_daemon, pin_flood = ["taskset", "-c", others], ["taskset", "-c", str(a.flood_cpu)]
        daemon = subprocess.Popen(
            pin_daemon + [a.flowprobe, "run", "--config", os.path.join(work, "flowprobe.toml"),
             "--listen", f"127.0.0.1:{port}", "--web.config.file", os.path.join(work, "web.yml")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                request(port, "x")
                break
            except OSError:
                time.sleep(0.05)
        stop = time.time() + a.seconds
        # The flood runs in a process of its own: measured from this one,
        # a correct login does not wait for the flood's threads to hand over
        # Python's interpreter lock (that wait, not the daemon, was most of
        # the cached logins' 42 ms before).
        sent_file = os.path.join(work, "sent")
        flood = subprocess.Popen(
            pin_flood + [sys.executable, os.path.abspath(__file__), "--flood-only", str(port),
             "--clients", str(a.clients), "--seconds", str(a.seconds), "--sent-file", sent_file])
        time.sleep(min(3.0, a.seconds / 4))  # the flood is under way
        timings = []
        while time.time() < stop - 1:
            t0 = time.perf_counter()
            try:
                code = request(port, "flowprobe-example", source="127.0.0.2")
            except OSError:
                code = 0
            timings.append(((time.perf_counter() - t0) * 1000, code))
            time.sleep(0.5)
        flood.wait(timeout=a.seconds + 30)
        sent = [int(open(sent_file).read() or 0)] if os.path.exists(sent_file) else [0]
        first = timings[0] if timings else (float("nan"), 0)
        rest = sorted(ms for ms, _ in timings[1:]) or [float("nan")]
        where = "shared CPUs" if a.flood_cpu is None else f"flood on CPU {a.flood_cpu}, daemon on the others"
        print(f"# basic auth under a flood ({a.clients} clients, {a.seconds:.0f} s, {os.cpu_count()} CPUs, {where})")
        print("| what | value |\n|---|---|")
        print(f"| wrong-password requests sent | {sent[0]} |")
        print(f"| first correct login (bcrypt check), ms | {first[0]:.1f} (status {first[1]}) |")
        print(f"| later correct logins (cached), median / max ms | {rest[len(rest) // 2]:.1f} / {rest[-1]:.1f} |")
        print(f"| correct logins that got 200 | {sum(1 for _, c in timings if c == 200)} of {len(timings)} |")
    finally:
        if daemon:
            daemon.terminate()
            try:
                daemon.wait(timeout=5)
            except subprocess.TimeoutExpired:
                daemon.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
