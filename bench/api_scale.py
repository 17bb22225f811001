#!/usr/bin/env python3
"""Reading the state back at scale: a daemon with N TCP flows on loopback
(one listener, 60 s interval), then each read path once: the streamed full
/api/v1/flows, a filtered page, the status page and /metrics (gzip). For
each: body size, time, and the daemon's RSS after it (steady RSS before).
Loopback only; stops by itself; removes what it made.

    python3 bench/api_scale.py [--flowprobe target/release/flowprobe] [--flows 100000]
"""
import argparse, os, shutil, socket, subprocess, tempfile, threading, time, urllib.request

LO = "127.0.0.1"


def free_port():
    s = socket.socket(); s.bind((LO, 0)); p = s.getsockname()[1]; s.close(); return p


def rss_mib(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1]) / 1024
    return 0.0


def get(url, gz=False):
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gz else {})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        first = r.read(1)
        t1 = time.perf_counter()
        body = first + r.read()
    return body, t1 - t0, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowprobe", default="target/release/flowprobe")
    ap.add_argument("--flows", type=int, default=100_000)
    ap.add_argument("--chromium", default=shutil.which("chromium"),
                    help="load the status page in headless Chromium too (default: if installed)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="flowprobe-bench-api.")
    listener = socket.socket(); listener.bind((LO, 0)); listener.listen(4096)
    port = listener.getsockname()[1]
    done = threading.Event()

    def accept():
        listener.settimeout(0.5)
        while not done.is_set():
            try:
                c, _ = listener.accept()
                c.close()
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    daemon = None
    try:
        cfg = os.path.join(work, "flowprobe.toml")
        with open(cfg, "w") as f:
            f.write('catalog = "none"\n[vantage.a]\n[vantage.b]\n[targets]\nlo = "127.0.0.1"\n')
            for i in range(a.flows):
                # One in a thousand refused: the pages have something to show.
                p = port if i % 1000 else 1
                f.write(f'[[flow]]\nname = "f{i:06d}"\nfrom = "{"ab"[i % 2]}"\nto = "lo"\nport = {p}\n'
                        'interval = "60s"\ntimeout = "2s"\n')
        web = free_port()
        url = f"http://{LO}:{web}"
        daemon = subprocess.Popen([a.flowprobe, "run", "--config", cfg, "--listen", f"{LO}:{web}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.time()
        while time.time() - t0 < 300:
            try:
                if urllib.request.urlopen(url + "/-/ready", timeout=5).status == 200:
                    break
            except Exception:
                time.sleep(0.5)
        ready = time.time() - t0
        time.sleep(5)
        rows = [("steady", "", "", "", f"{rss_mib(daemon.pid):.0f}")]
        for name, path, gz in [
            ("API, filtered page (state=down, limit=100)", "/api/v1/flows?state=down&limit=100", False),
            ("API, one page of 1,000 (vantage=a)", "/api/v1/flows?vantage=a", False),
            ("API, every flow (streamed)", "/api/v1/flows", False),
            ("API, every flow (streamed, gzip)", "/api/v1/flows", True),
            ("status page / (first page)", "/", False),
            ("status page, search (flow=f0001*)", "/?flow=f0001*", False),
            ("/metrics (gzip)", "/metrics", True),
        ]:
            body, first, took = get(url + path, gz)
            time.sleep(1)
            rows.append((name, f"{len(body) / 1e6:.2f} MB", f"{first * 1000:.0f} ms", f"{took:.2f} s",
                         f"{rss_mib(daemon.pid):.0f}"))
        if a.chromium:
            profile = tempfile.mkdtemp(prefix="flowprobe-bench-chromium.")
            try:
                t = time.perf_counter()
                dom = subprocess.run(
                    [a.chromium, "--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", f"--user-data-dir={profile}",
                     "--virtual-time-budget=3000", "--dump-dom", url + "/"],
                    capture_output=True, text=True, timeout=120).stdout
                took = time.perf_counter() - t
                n_rows = dom.count('<tr class="flow ')
                rows.append(("status page in headless Chromium (DOM dumped)",
                             f"{n_rows} rows", "", f"{took:.2f} s",
                             f"{rss_mib(daemon.pid):.0f}"))
            finally:
                shutil.rmtree(profile, ignore_errors=True)
        print(f"# reading back {a.flows:,} TCP flows (ready in {ready:.1f} s), {os.cpu_count()} CPUs")
        print("| read | body | first byte | time | RSS after, MiB |\n|---|---|---|---|---|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
    finally:
        if daemon:
            daemon.terminate()
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
        done.set()
        listener.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
