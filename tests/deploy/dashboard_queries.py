#!/usr/bin/env python3
"""Run every query of grafana/flowprobe.json against a real Prometheus (stdlib only).

Usage:
  dashboard_queries.py --prometheus http://127.0.0.1:9090 [--dashboard grafana/flowprobe.json]
                       [--retry-for SECONDS] [--allow-empty TITLE]...
                       [--cacert CA.pem] [--user USER --password-file FILE]

--cacert and --user/--password-file reach a store behind TLS and basic auth
(deploy/sites/central-web-config.yml; tests/many_sites.rs).
Grafana variables are substituted the way an "All" selection is: $site,
$vantage and $flow become the regex `.*`; $__rate_interval -> 1m, $__interval -> 30s,
$__range -> 1h. Every target is sent to /api/v1/query (an instant query at
"now"; range panels are checked at their last point). The run fails on any
query error, and on any panel none of whose targets returns a series
(a panel that shows "No data"). --retry-for keeps retrying the panels that
are still empty (recording rules need an evaluation or two, rate() needs two
scrapes) before failing. The closing line is "N passed, N failed".
"""
import argparse
import base64
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SUBST = [
    (re.compile(r"\$\{site(:[a-z]+)?\}|\$site\b"), ".*"),
    (re.compile(r"\$\{vantage(:[a-z]+)?\}|\$vantage\b"), ".*"),
    (re.compile(r"\$\{flow(:[a-z]+)?\}|\$flow\b"), ".*"),
    (re.compile(r"\$\{?__rate_interval\}?"), "1m"),
    (re.compile(r"\$\{?__interval\}?"), "30s"),
    (re.compile(r"\$\{?__range\}?"), "1h"),
]


def substitute(expr):
    for rx, value in SUBST:
        expr = rx.sub(value, expr)
    if "$" in re.sub(r'"[^"]*\$\d[^"]*"', "", expr):  # $1 in label_replace is fine
        raise ValueError(f"unsubstituted variable in {expr!r}")
    return expr


# Set by main(): the TLS context (--cacert) and the Authorization header.
TLS = None
AUTH = {}


def query(base, expr, timeout=30):
    data = urllib.parse.urlencode({"query": expr}).encode()
    req = urllib.request.Request(base.rstrip("/") + "/api/v1/query", data=data, method="POST",
                                 headers=AUTH)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=TLS) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except Exception:
            return None, f"HTTP {e.code}"
    except (urllib.error.URLError, OSError) as e:
        return None, f"cannot reach Prometheus: {e}"
    if body.get("status") != "success":
        return None, f"{body.get('errorType')}: {body.get('error')}"
    result = body["data"]["result"]
    if body["data"]["resultType"] == "scalar":
        result = [result]
    return result, None


def panels_of(dash):
    def walk(ps):
        for p in ps:
            yield p
            yield from walk(p.get("panels", []))
    for p in walk(dash.get("panels", [])):
        if p.get("type") != "row" and p.get("targets"):
            yield p


def check_panel(base, panel):
    """Returns (errors, series count)."""
    errors, count = [], 0
    for t in panel["targets"]:
        if t.get("hide"):
            continue
        try:
            expr = substitute(t["expr"])
        except (KeyError, ValueError) as e:
            errors.append(f"target {t.get('refId')}: {e}")
            continue
        result, err = query(base, expr)
        if err:
            errors.append(f"target {t.get('refId')}: {err}\n      {expr}")
        else:
            count += len(result)
    return errors, count


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prometheus", "-p", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    ap.add_argument("--dashboard", "-d", default="grafana/flowprobe.json")
    ap.add_argument("--retry-for", type=float, default=0, help="seconds to keep retrying empty panels")
    ap.add_argument("--allow-empty", action="append", default=[], metavar="TITLE",
                    help="panel title allowed to return no data (repeatable)")
    ap.add_argument("--cacert", help="CA file of the store's TLS certificate")
    ap.add_argument("--user", help="basic auth user (with --password-file)")
    ap.add_argument("--password-file", help="basic auth password, trailing newline dropped")
    args = ap.parse_args()
    global TLS, AUTH
    if args.cacert:
        TLS = ssl.create_default_context(cafile=args.cacert)
    if args.user:
        with open(args.password_file, encoding="utf-8") as f:
            pw = f.read().rstrip("\r\n")
        token = base64.b64encode(f"{args.user}:{pw}".encode()).decode()
        AUTH = {"Authorization": f"Basic {token}"}
    with open(args.dashboard, encoding="utf-8") as f:
        dash = json.load(f)
    panels = list(panels_of(dash))
    deadline = time.monotonic() + args.retry_for
    pending = {p["id"]: p for p in panels}
    failed = {}
    while True:
        failed = {}
        for pid, p in list(pending.items()):
            errors, count = check_panel(args.prometheus, p)
            if errors:
                failed[pid] = errors
            elif count == 0 and p["title"] not in args.allow_empty:
                failed[pid] = ["no data: every target returned an empty result"]
            else:
                print(f"ok    panel {pid:3} {p['title']!r}: {count} series")
                del pending[pid]
        if not failed or time.monotonic() >= deadline:
            break
        time.sleep(min(10, max(0.0, deadline - time.monotonic())))
    for pid, errors in failed.items():
        print(f"FAIL  panel {pid:3} {pending[pid]['title']!r}")
        for e in errors:
            print(f"      {e}")
    print(f"dashboard_queries: {len(panels) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
