#!/usr/bin/env python3
"""The exposition's size per flow, and a scrape of a very large instance
(bench/README.md, "Metrics at scale"). Loopback only; every run is bounded
and every process started here is stopped by pid.

  size    series and bytes per TCP and per TLS flow (5-certificate path, one
          trust store), for each binary given (--before: an older build, to
          compare) and each [metrics] profile the binary knows: 200 TCP + 20
          TLS flows at 2 s against the bench farm, scraped after two rounds.
  scrape  N TCP flows (default 300,000) at 60 s against the farm: time to
          ready, the daemon's log lines and bytes up to then, RSS, then five
          scrapes of /metrics with and five without `Accept-Encoding: gzip`
          (time to the last byte, bytes on the wire). Run once per profile.

Usage: bench/metrics.sh [--before OLD_BINARY] [--flows N] [--only size|scrape]
"""
import argparse
import gzip
import json
import os
import re
import statistics
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402  (the farm, the PKI, process handling)
from driver import LO, SERVER_NAME, TCP_BASE, TCP_N, TLS_BASE, TLS_N, log, status_kib  # noqa: E402

PROFILES = {
    "default": "",
    "compact": "[metrics]\nper_flow_durations = false\nall_certificates = false\n",
}


def config(b, name, tcp, tls, interval, metrics):
    path = os.path.join(b.work, name + ".toml")
    parts = [f'catalog = "none"\n[log]\nlevel = "info"\nformat = "json"\n{metrics}'
             f'[targets]\nlo = "{LO}"\n[trust.bench]\nanchors = ["{b.root_pem}"]\n']
    timeout = "1s" if interval <= 2 else "5s"
    for i in range(tcp):
        parts.append(f'[[flow]]\nname = "tcp-{i:06d}"\nfrom = "bench"\nto = "lo"\n'
                     f'port = {TCP_BASE + i % TCP_N}\ninterval = "{interval}s"\ntimeout = "{timeout}"\n')
    for i in range(tls):
        parts.append(f'[[flow]]\nname = "tls-{i:06d}"\nfrom = "bench"\nto = "lo"\n'
                     f'port = {TLS_BASE + i % TLS_N}\ncheck = "tls"\ninterval = "{interval}s"\n'
                     f'timeout = "{timeout}"\ntls = {{ trust = ["bench"], server_name = "{SERVER_NAME}" }}\n')
    with open(path, "w") as f:
        f.write("".join(parts))
    return path


def start(b, binary, cfg, name):
    port = driver.free_port()
    logf = os.path.join(b.work, name + ".log")
    t0 = time.time()
    p = b.spawn([binary, "run", "--config", cfg, "--listen", f"{LO}:{port}"], name)
    url = f"http://{LO}:{port}"
    driver.wait_http(url + "/-/healthy", budget=300, proc=p)
    return p, url, logf, t0


def wait_ready(url, p, budget):
    end = time.time() + budget
    while time.time() < end:
        if p.poll() is not None:
            raise RuntimeError("flowprobe exited")
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=5) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


def get(url, gz):
    req = urllib.request.Request(url + "/metrics")
    if gz:
        req.add_header("Accept-Encoding", "gzip")
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read()
        enc = r.headers.get("Content-Encoding", "")
    dt = time.perf_counter() - t
    text = gzip.decompress(body).decode() if enc == "gzip" else body.decode()
    return dt, len(body), enc, text


FLOW = re.compile(r'flow="((tcp|tls)-\d+)"')


def per_flow(text):
    """Series and bytes per flow, by kind (the mean over the flows)."""
    series, size, flows = {}, {}, {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = FLOW.search(line)
        if not m:
            continue
        kind = m.group(2)
        series[kind] = series.get(kind, 0) + 1
        size[kind] = size.get(kind, 0) + len(line) + 1
        flows.setdefault(kind, set()).add(m.group(1))
    return {k: {"series": series[k] / len(flows[k]), "bytes": size[k] / len(flows[k]),
                "flows": len(flows[k])} for k in series}


def run_size(b, binaries):
    out = {}
    for label, binary in binaries:
        for prof, extra in PROFILES.items():
            if label == "before" and extra:
                continue  # the old build has no [metrics] table
            name = f"size-{label}-{prof}"
            cfg = config(b, name, 200, 20, 2, extra)
            p, url, _, _ = start(b, binary, cfg, name)
            ok = wait_ready(url, p, 60)
            time.sleep(4.5)  # two more rounds: every series has its value
            _, _, _, text = get(url, False)
            b.stop(p)
            r = per_flow(text)
            r["ready"] = ok
            out[name] = r
            log(f"{name}: {json.dumps(r)}")
    return out


def run_scrape(b, binary, n, interval):
    out = {}
    for prof, extra in PROFILES.items():
        name = f"scrape-{n}-{prof}"
        cfg = config(b, name, n, 0, interval, extra)
        p, url, logf, t0 = start(b, binary, cfg, name)
        ready = wait_ready(url, p, interval + 120)
        r = {"flows": n, "interval_s": interval, "ready": ready, "ready_s": round(time.time() - t0, 1)}
        with open(logf) as f:
            lines = f.read().splitlines()
        r["log_lines_to_ready"] = len(lines)
        r["log_bytes_to_ready"] = sum(len(x) + 1 for x in lines)
        r["first_round_line"] = next((x[:300] for x in lines if "first round done" in x), None)
        for gz in (True, False):
            times, wire, enc = [], 0, ""
            for _ in range(5):
                dt, wire, enc, text = get(url, gz)
                times.append(dt)
            key = "gzip" if gz else "plain"
            r[key] = {"median_s": round(statistics.median(times), 3),
                      "max_s": round(max(times), 3), "bytes": wire, "encoding": enc}
            r["exposition_bytes"] = len(text.encode())
        r["rss_mib"] = round(status_kib(p.pid, "VmRSS") / 1024, 1)
        r["peak_rss_mib"] = round(status_kib(p.pid, "VmHWM") / 1024, 1)
        b.stop(p, grace=20)
        out[name] = r
        log(f"{name}: {json.dumps(r)}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowprobe", required=True)
    ap.add_argument("--before", help="an older flowprobe binary to compare sizes with")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--flows", type=int, default=300_000)
    ap.add_argument("--interval", type=int, default=60)
    ap.add_argument("--only", default="size,scrape")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    a.python_tls, a.quick = False, True
    b = driver.Bench(argparse.Namespace(workdir=a.workdir, flowprobe=a.flowprobe, floor=None,
                                        python_tls=False, quick=True))
    res = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count()}
    try:
        b.pki()
        me = os.path.abspath(driver.__file__)
        b.spawn([sys.executable, me, "serve-tcp"], "farm-tcp")
        nginx = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
        if nginx:
            b.nginx(nginx, "nginx", range(TLS_BASE, TLS_BASE + TLS_N))
        else:
            b.spawn([sys.executable, me, "serve-tls", b.chain_pem, b.leaf_key], "farm-tls")
        time.sleep(2)
        only = a.only.split(",")
        if "size" in only:
            bins = ([("before", a.before)] if a.before else []) + [("after", a.flowprobe)]
            res["size"] = run_size(b, bins)
        if "scrape" in only:
            res["scrape"] = run_scrape(b, a.flowprobe, a.flows, a.interval)
    finally:
        b.stop_all()
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
