#!/usr/bin/env python3
"""A stand-in for `flowprobe run`'s /metrics (stdlib only), for testing the
deploy/ and grafana/ artefacts against a real Prometheus before, or without,
the daemon. It serves the metric vocabulary the rules and the dashboard
expect (the contract in deploy/RUNBOOK.md, "Metrics the rules rely on") with
plausible values for one vantage. It is NOT the daemon and proves nothing
about it: tests/deploy/dashboard_queries.py must also pass against a live
flowprobe.

Usage: fake_flowprobe.py --listen 127.0.0.1:19725 --vantage mobile-devices [--down FLOW]... [--down-file FILE] [--interval S]
"""
import argparse
import http.server
import time

START = time.time()

FLOWS = {
    # flow: (from, to, target, host, port, check, expect, severity, interval, reason)
    "mobile-mdm-https": ("mobile-devices", "mdm", "mdm", "mdm.lab.test", 443, "tls", "open", "critical", 30, "ok"),
    "mobile-mdm-crl": ("mobile-devices", "mdm", "mdm", "mdm.lab.test", 80, "crl", "open", "warning", 300, "ok"),
    "mobile-apns-courier": ("mobile-devices", "apns-courier", "apns-courier", "courier.lab.test", 5223, "tls", "open", "critical", 30, "ok"),
    "mobile-mdm-ssh-forbidden": ("mobile-devices", "mdm", "mdm", "mdm.lab.test", 22, "tcp", "closed", "critical", 60, "refused"),
    "admin-mdm-ssh": ("administrators", "mdm", "mdm", "mdm.lab.test", 22, "ssh", "open", "critical", 60, "ok"),
}
REASONS = ("ok dns_nxdomain dns_timeout dns_error refused filtered unreachable reset timeout tls_handshake "
           "tls_version chain_incomplete chain_untrusted chain_order cert_required cert_expired cert_not_yet_valid "
           "cert_expiring name_mismatch weak_key weak_signature ssh_banner ssh_weak_algorithms ssh_host_key "
           "ssh_software http_status http_redirects http_content body_too_large crl_stale crl_invalid crl_missing "
           "revoked protocol_error internal").split()


def render(vantage, down, interval_override=None):
    now = time.time()
    out = []

    def m(name, labels, value, help_=None, type_="gauge"):
        if help_:
            out.append(f"# HELP {name} {help_}\n# TYPE {name} {type_}")
        lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
        out.append(f"{name}{{{lab}}} {value}")

    m("flowprobe_build_info", {"version": "0.0.0-fake"}, 1, "fake")
    m("flowprobe_config_last_reload_successful", {}, 1, "fake")
    m("flowprobe_config_last_reload_success_timestamp_seconds", {}, START, "fake")
    m("flowprobe_probes_in_flight", {}, 1, "fake")
    n = sum(1 for f in FLOWS.values() if f[0] == vantage)
    m("flowprobe_flows", {}, n, "fake")
    elapsed = now - START
    out.append("# TYPE flowprobe_scheduler_lateness_seconds histogram")
    probes = int(elapsed / 10) + 1
    for le, share in (("0.01", 0.5), ("0.1", 0.9), ("1", 1.0), ("5", 1.0), ("+Inf", 1.0)):
        out.append(f'flowprobe_scheduler_lateness_seconds_bucket{{le="{le}"}} {int(probes * share)}')
    out.append(f"flowprobe_scheduler_lateness_seconds_sum {probes * 0.02}")
    out.append(f"flowprobe_scheduler_lateness_seconds_count {probes}")
    m("process_start_time_seconds", {}, START, "fake")
    m("process_cpu_seconds_total", {}, elapsed * 0.01, "fake", "counter")
    m("process_open_fds", {}, 12, "fake")
    m("process_max_fds", {}, 65536, "fake")
    for flow, (frm, to, target, host, port, check, expect, sev, interval, reason) in FLOWS.items():
        if frm != vantage:
            continue
        if interval_override:
            interval = interval_override
        if flow in down:
            reason = "filtered" if expect == "open" else "ok"
        up = 1 if (reason == "ok") == (expect == "open") else 0
        if expect == "closed":
            up = 1 if reason in ("refused", "filtered", "unreachable") else 0
        ids = {"vantage": vantage, "flow": flow}
        m("flowprobe_flow_info", dict(ids, **{"from": frm, "to": to, "target": target, "host": host, "port": port,
                                             "check": check, "expect": expect, "severity": sev}), 1)
        m("flowprobe_flow_up", ids, up)
        for r in REASONS:
            m("flowprobe_flow_reason", dict(ids, reason=r), 1 if r == reason else 0)
        m("flowprobe_flow_interval_seconds", ids, interval)
        m("flowprobe_flow_timeout_seconds", ids, 5)
        last = START + int((now - START) / interval) * interval
        m("flowprobe_probe_last_timestamp_seconds", ids, last)
        runs = int((now - START) / interval) + 1
        m("flowprobe_probes_total", dict(ids, result="pass"), runs if up else 0, None, "counter")
        m("flowprobe_probes_total", dict(ids, result="fail"), 0 if up else runs, None, "counter")
        for phase, d in (("dns", 0.002), ("connect", 0.004), ("tls", 0.03), ("http", 0.01), ("total", 0.05)):
            m("flowprobe_probe_duration_seconds", dict(ids, phase=phase), d)
        if check == "tls" and up:
            m("flowprobe_tls_version_info", dict(ids, version="TLSv1.3"), 1)
            m("flowprobe_tls_cipher_info", dict(ids, cipher="TLS13_AES_256_GCM_SHA384"), 1)
            m("flowprobe_tls_chain_verified", dict(ids, anchor="fcpca-g2"), 1)
            m("flowprobe_tls_chain_verified", dict(ids, anchor="dod"), 1)
            m("flowprobe_tls_chain_order_ok", ids, 1)
            chain = [("mdm.lab.test", "Lab Issuing CA", "01", "false", 200), ("Lab Issuing CA", "Lab Root CA", "02", "false", 900),
                     ("Lab Root CA", "Lab Bridge CA", "03", "true", 25)]
            m("flowprobe_tls_chain_certificates", ids, len(chain))
            for pos, (s, i, serial, cross, days) in enumerate(chain):
                c = dict(ids, position=pos, subject_cn=s, issuer_cn=i, serial=serial)
                m("flowprobe_tls_cert_not_after_timestamp_seconds", c, int(START + days * 86400))
                m("flowprobe_tls_cert_not_before_timestamp_seconds", c, int(START - 86400))
                m("flowprobe_tls_cert_info", dict(c, key="ecdsa-p256", signature="ecdsa-with-SHA256", cross=cross), 1)
        if check == "crl" and up:
            c = dict(ids, issuer_cn="Lab Issuing CA")
            m("flowprobe_crl_this_update_timestamp_seconds", c, int(START - 3600))
            m("flowprobe_crl_next_update_timestamp_seconds", c, int(START + 6 * 86400))
            m("flowprobe_crl_entries", c, 3)
            m("flowprobe_crl_bytes", c, 1234)
            m("flowprobe_crl_signature_valid", c, 1)
            m("flowprobe_crl_revoked", dict(c, position=0), 0)
            m("flowprobe_http_status_code", ids, 200)
        if check == "ssh" and up:
            m("flowprobe_ssh_info", dict(ids, protocol="2.0", software="OpenSSH_9.2p1"), 1)
            for kind, alg, ok in (("kex", "ecdh-sha2-nistp256", "true"), ("kex", "curve25519-sha256", "false"),
                                  ("cipher", "aes256-ctr", "true"), ("mac", "hmac-sha2-256", "true"),
                                  ("host_key", "ecdsa-sha2-nistp256", "true"), ("compression", "none", "true")):
                m("flowprobe_ssh_algorithm", dict(ids, kind=kind, algorithm=alg, allowed=ok), 1)
            for kind in ("kex", "host_key", "cipher", "mac", "compression"):
                m("flowprobe_ssh_policy_violations", dict(ids, kind=kind), 1 if kind == "kex" else 0)
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:19725")
    ap.add_argument("--vantage", default="mobile-devices")
    ap.add_argument("--down", action="append", default=[], help="flow to report as failing")
    ap.add_argument("--down-file", help="file listing flows to report as failing, one a line (re-read on every scrape)")
    ap.add_argument("--interval", type=float, help="override every flow's interval (seconds), for fast tests")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/metrics":
                self.send_error(404)
                return
            down = set(args.down)
            if args.down_file:
                try:
                    with open(args.down_file, encoding="utf-8") as f:
                        down |= {line.strip() for line in f if line.strip()}
                except FileNotFoundError:
                    pass
            body = render(args.vantage, down, args.interval).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    http.server.ThreadingHTTPServer((host, int(port)), H).serve_forever()


if __name__ == "__main__":
    main()
