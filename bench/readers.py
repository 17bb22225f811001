#!/usr/bin/env python3
"""50 concurrent readers of /api/v1/flows, then of /metrics, against a daemon
probing 1,000 TCP and 1,000 TLS flows on loopback (the readers lines of the
README's "Under hostile clients" results). Prints idle RSS, peak RSS during
each burst, and the probe starts more than 100 ms late (from
flowprobe_scheduler_lateness_seconds).
Loopback only; every process it starts is stopped at the end.

    python3 bench/readers.py [--flowprobe target/release/flowprobe]
"""
import argparse, concurrent.futures, os, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request

LO = "127.0.0.1"


def free_port():
    s = socket.socket(); s.bind((LO, 0)); p = s.getsockname()[1]; s.close(); return p


def rss_kib(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
    return 0


def lateness(url):
    body = urllib.request.urlopen(url + "/metrics", timeout=60).read().decode()
    le, count = 0.0, 0.0
    for l in body.splitlines():
        if l.startswith('flowprobe_scheduler_lateness_seconds_bucket{le="0.1"}'):
            le = float(l.rsplit(" ", 1)[1])
        if l.startswith("flowprobe_scheduler_lateness_seconds_count"):
            count = float(l.rsplit(" ", 1)[1])
    return count, count - le


def burst(url, path, n, pid):
    peak, stop = [rss_kib(pid)], threading.Event()

    def sample():
        while not stop.is_set():
            peak.append(rss_kib(pid)); time.sleep(0.02)

    t = threading.Thread(target=sample); t.start()
    c0, late0 = lateness(url)
    t0 = time.time()

    def get(_):
        try:
            r = urllib.request.urlopen(url + path, timeout=120)
            return r.status, len(r.read())
        except urllib.error.HTTPError as e:
            return e.code, 0

    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        res = list(ex.map(get, range(n)))
    dt = time.time() - t0
    time.sleep(1)
    stop.set(); t.join()
    c1, late1 = lateness(url)
    codes = {}
    for code, _ in res:
        codes[code] = codes.get(code, 0) + 1
    return {"path": path, "readers": n, "seconds": round(dt, 2), "codes": codes,
            "body_bytes": max(b for _, b in res), "peak_rss_kib": max(peak),
            "starts": int(c1 - c0), "starts_over_100ms_late": int(late1 - late0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowprobe", default="target/release/flowprobe")
    ap.add_argument("--readers", type=int, default=50)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="fp-readers-")
    procs = []
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", f"{work}/k.pem", "-out", f"{work}/c.pem", "-days", "2",
                        "-subj", "/CN=bench.test", "-addext", "subjectAltName=DNS:bench.test"],
                       check=True, capture_output=True)
        tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((LO, 0)); tcp.listen(4096); tcp_port = tcp.getsockname()[1]

        def accept():
            while True:
                c, _ = tcp.accept(); c.close()

        threading.Thread(target=accept, daemon=True).start()
        tls_port = free_port()
        os.makedirs(f"{work}/nginx/logs", exist_ok=True)
        open(f"{work}/nginx/nginx.conf", "w").write(f"""user root; daemon off; worker_processes 1; pid {work}/nginx/pid;
error_log {work}/nginx/logs/error.log warn; events {{ worker_connections 8192; }}
http {{ access_log off; client_body_temp_path {work}/nginx; proxy_temp_path {work}/nginx;
fastcgi_temp_path {work}/nginx; uwsgi_temp_path {work}/nginx; scgi_temp_path {work}/nginx;
server {{ listen {LO}:{tls_port} ssl backlog=4096; ssl_certificate {work}/c.pem;
ssl_certificate_key {work}/k.pem; location / {{ return 204; }} }} }}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        procs.append(subprocess.Popen([nginx, "-p", f"{work}/nginx", "-c", f"{work}/nginx/nginx.conf"]))
        cfg = [f'catalog = "none"\n[log]\nlevel = "warn"\n[targets]\nlo = "{LO}"\n'
               f'[trust.bench]\nanchors = ["{work}/c.pem"]\n']
        for i in range(1000):
            cfg.append(f'[[flow]]\nname = "tcp-{i:04d}"\nfrom = "bench"\nto = "lo"\nport = {tcp_port}\n'
                       f'interval = "5s"\ntimeout = "2s"\n')
            cfg.append(f'[[flow]]\nname = "tls-{i:04d}"\nfrom = "bench"\nto = "lo"\nport = {tls_port}\n'
                       f'check = "tls"\ninterval = "10s"\ntimeout = "3s"\n'
                       f'tls = {{ trust = ["bench"], server_name = "bench.test" }}\n')
        open(f"{work}/f.toml", "w").write("".join(cfg))
        port = free_port()
        url = f"http://{LO}:{port}"
        p = subprocess.Popen([a.flowprobe, "run", "--config", f"{work}/f.toml", "--listen", f"{LO}:{port}"],
                             stderr=open(f"{work}/daemon.log", "w"))
        procs.append(p)
        end = time.time() + 120
        while True:
            try:
                if urllib.request.urlopen(url + "/-/ready", timeout=5).status == 200:
                    break
            except Exception:
                pass
            if time.time() > end:
                sys.exit("not ready: " + open(f"{work}/daemon.log").read()[-2000:])
            time.sleep(0.5)
        time.sleep(12)
        idle = rss_kib(p.pid)
        print(f"2,000 flows (1,000 TCP every 5 s, 1,000 TLS every 10 s), {a.flowprobe}: idle RSS {idle} KiB")
        for path in ("/api/v1/flows", "/metrics"):
            r = burst(url, path, a.readers, p.pid)
            r["peak_over_idle"] = round(r["peak_rss_kib"] / idle, 2)
            print(r)
            time.sleep(5)
    finally:
        for q in procs:
            q.terminate()
        for q in procs:
            try:
                q.wait(10)
            except subprocess.TimeoutExpired:
                q.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
