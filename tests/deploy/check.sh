#!/usr/bin/env bash
# Checks the deployment artefacts with the real tools:
#   promtool (rules, unit tests, config), amtool (config, routing), systemd-analyze
#   (verify, security <= 2.0), the dashboard structure, runbook anchors, the
#   Kubernetes PrometheusRule being in sync, the example configurations.
# Needs: promtool (Debian: prometheus), amtool (prometheus-alertmanager),
# systemd-analyze (systemd), python3 >= 3.11. A missing tool is a failure, not a skip.
# Usage: tests/deploy/check.sh [--e2e]    (from anywhere in the repository)
#   --e2e also runs tests/deploy/alert_e2e.sh (real Prometheus + Alertmanager on
#   loopback against tests/deploy/fake_flowprobe.py, ~40 s; needs the prometheus
#   and prometheus-alertmanager packages and curl).
# Environment: FLOWPROBE_BIN=/path/to/flowprobe also runs `flowprobe config check`
#              on the example configurations; MAX_EXPOSURE (default 2.0).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
max_exposure=${MAX_EXPOSURE:-2.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 failures=()

step() {  # step NAME COMMAND...: run, report, count
    local name=$1; shift
    if "$@" >"$tmp/out" 2>&1; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name"
        sed 's/^/     | /' "$tmp/out"
    fi
}

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing tool: $1 ($2)"; return 1; }; }

# --- tools ------------------------------------------------------------------
step "tools present" bash -c '
    ok=0
    for t in promtool:prometheus amtool:prometheus-alertmanager systemd-analyze:systemd python3:python3; do
        command -v "${t%%:*}" >/dev/null || { echo "missing ${t%%:*} (Debian package ${t#*:})"; ok=1; }
    done
    exit $ok'

# --- Prometheus ---------------------------------------------------------------
step "promtool check rules" promtool check rules deploy/prometheus/flowprobe.rules.yml
step "promtool test rules" promtool test rules deploy/prometheus/tests/*.yml
step "promtool check config (static + file_sd)" promtool check config deploy/prometheus/prometheus.yml
# Many sites (docs/fleet.md): the files name /etc paths that exist only when
# installed, so syntax only here; tests/many_sites.rs runs them for real.
step "promtool check config: site agent (deploy/sites/agent.yml)" promtool check config --syntax-only --agent deploy/sites/agent.yml
step "promtool check config: central store (deploy/sites/central.yml)" promtool check config --syntax-only deploy/sites/central.yml
step "every alert has a firing and a not-firing unit test" python3 - <<'PY'
import glob, re, sys
rules = re.findall(r"^\s+- alert: (\w+)", open("deploy/prometheus/flowprobe.rules.yml").read(), re.M)
tests = "".join(open(f).read() for f in sorted(glob.glob("deploy/prometheus/tests/*.yml")))
bad = []
for r in rules:
    fire = re.search(r"alertname: %s\n\s+exp_alerts:\n\s+- exp_labels:" % r, tests)
    quiet = re.search(r"alertname: %s\n\s+exp_alerts: \[\]" % r, tests)
    if not fire: bad.append(f"{r}: no firing test")
    if not quiet: bad.append(f"{r}: no not-firing test")
print(f"{len(rules)} alerts checked"); print("\n".join(bad))
sys.exit(1 if bad or not rules else 0)
PY
step "every alert has severity, summary, description, runbook_url" python3 - <<'PY'
import re, sys
text = open("deploy/prometheus/flowprobe.rules.yml").read()
chunks = re.split(r"\n(?=\s+- (?:alert|record): )", text)
bad = []
for c in chunks:
    m = re.match(r"\s+- alert: (\w+)", c)
    if not m: continue
    name = m.group(1)
    for key in ("summary:", "description:", "runbook_url:"):
        if key not in c: bad.append(f"{name}: no {key}")
    # A severity label, joined from flowprobe_flow_info, or kept by the
    # aggregation from a series that carries the flow's severity.
    if "severity:" not in c and "group_left (from, to, target, host, port, check, expect, severity" not in c \
            and not re.search(r"sum by \([^)]*\bseverity\b[^)]*\) \(increase\(flowprobe_probes_shed_total", c):
        bad.append(f"{name}: no severity (label or joined from flowprobe_flow_info)")
    if f"RUNBOOK.md#{name.lower()}\"" not in c: bad.append(f"{name}: runbook anchor is not #{name.lower()}")
print("\n".join(bad)); sys.exit(1 if bad else 0)
PY
step "runbook_url anchors exist in deploy/RUNBOOK.md" python3 - <<'PY'
import re, sys
rb = open("deploy/RUNBOOK.md").read()
def slug(h):  # GitHub's heading anchors
    return re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
anchors = {slug(h) for h in re.findall(r"^#{1,6} (.+)$", rb, re.M)}
urls = re.findall(r"runbook_url: \"?(\S+?)\"?$", open("deploy/prometheus/flowprobe.rules.yml").read(), re.M)
bad = [u for u in urls if not u.startswith("https://github.com/flowprobe/flowprobe/blob/main/deploy/RUNBOOK.md#") or u.split("#", 1)[1] not in anchors]
print(f"{len(urls)} runbook URLs"); print("\n".join("missing anchor: " + u for u in bad))
sys.exit(1 if bad or not urls else 0)
PY

# --- Alertmanager -------------------------------------------------------------
step "amtool check-config" amtool check-config deploy/alertmanager/alertmanager.yml
routes() {
    local want=$1; shift
    amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml --verify.receivers="$want" "$@" 2>/dev/null
}
step "alertmanager routing: critical->pager+chat, warning->chat, info->null" bash -c "
    set -e
    $(declare -f routes)
    routes pager,chat alertname=FlowprobeRequiredFlowDown severity=critical flow_severity=critical vantage=mobile-devices flow=mobile-mdm-https
    routes chat alertname=FlowprobeTLSPathExpiringSoon severity=warning flow_severity=critical
    routes null alertname=FlowprobeRequiredFlowDown severity=info flow_severity=info
    routes null alertname=FlowprobeTLSPathExpiringCritical severity=critical flow_severity=info
    routes pager,chat alertname=FlowprobeInstanceDown severity=critical"

# --- Kubernetes -----------------------------------------------------------------
step "kubernetes PrometheusRule in sync with flowprobe.rules.yml" bash -c '
    sh deploy/kubernetes/gen-prometheusrule.sh > "'"$tmp"'/pr.yaml" &&
    diff -u deploy/kubernetes/prometheusrule.yaml "'"$tmp"'/pr.yaml" ||
    { echo "run: deploy/kubernetes/gen-prometheusrule.sh > deploy/kubernetes/prometheusrule.yaml"; exit 1; }'
step "kubernetes PrometheusRule spec passes promtool check rules" bash -c '
    sed -n "/^spec:/,\$p" deploy/kubernetes/prometheusrule.yaml | tail -n +2 | sed "s/^  //" > "'"$tmp"'/spec.yml" &&
    promtool check rules "'"$tmp"'/spec.yml"'
if python3 -c 'import yaml' 2>/dev/null; then
    step "kubernetes manifests parse (PyYAML)" python3 - <<'PY'
import glob, sys, tomllib, yaml
for f in sorted(glob.glob("deploy/kubernetes/*.yaml")):
    for d in yaml.safe_load_all(open(f)):
        assert d.get("apiVersion") and d.get("kind"), f
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "flowprobe-config":
            for k, v in d["data"].items():
                tomllib.loads(v)  # embedded configurations are valid TOML
print("ok")
PY
else
    echo "skip kubernetes manifests parse: PyYAML not installed (the stdlib has no YAML parser)"
fi

# --- example configurations -----------------------------------------------------
step "example flowprobe.toml files parse and name catalog flows" python3 - <<'PY'
import glob, sys, tomllib
catalog = {"admin-mdm-ssh", "mobile-mdm-crl", "mobile-mdm-https", "admin-mdm-https-alt", "mobile-apns-courier",
           "mobile-apns-courier-fallback", "mdm-apns-provider", "mdm-apns-provider-alt", "mdm-apns-legacy",
           "mobile-mdm-ssh-forbidden", "mobile-mdm-https-alt-forbidden"}
targets = {"mdm", "apns-courier", "apns-provider", "apns-legacy"}
bad, files = [], sorted(glob.glob("deploy/examples/*.toml"))
for f in files:
    d = tomllib.load(open(f, "rb"))
    if d.get("catalog") != "jamf-pro": bad.append(f"{f}: catalog")
    if not d.get("vantages"): bad.append(f"{f}: vantages")
    for v in d.get("vantage", {}):
        if v not in d["vantages"]: bad.append(f"{f}: [vantage.{v}] not in vantages")
    for t in d.get("targets", {}):
        if t not in targets: bad.append(f"{f}: unknown target {t}")
    trust = set(d.get("trust", {}))
    for fl in d.get("flow", []):
        if fl.get("name") not in catalog: bad.append(f"{f}: unknown flow {fl.get('name')}")
        for a in fl.get("tls", {}).get("trust", []):
            if a not in trust: bad.append(f"{f}: flow {fl['name']} trusts undefined [trust.{a}]")
print(f"{len(files)} files"); print("\n".join(bad)); sys.exit(1 if bad or len(files) < 3 else 0)
PY
if [ -z "${FLOWPROBE_BIN:-}" ]; then
    for b in target/debug/flowprobe target/release/flowprobe; do
        [ -x "$b" ] && FLOWPROBE_BIN=$root/$b && break
    done
fi
if [ -n "${FLOWPROBE_BIN:-}" ]; then
    # The examples point at /etc/flowprobe/trust/*.pem; validate copies that
    # point at a fixture anchor instead (config check needs readable files).
    for f in deploy/examples/*.toml; do
        sed "s|/etc/flowprobe/trust/[a-z0-9-]*\.pem|$root/tests/fixtures/trust/fcpca-g2-fixture.pem|g" "$f" > "$tmp/$(basename "$f")"
        step "flowprobe config check $f" "$FLOWPROBE_BIN" config check --config "$tmp/$(basename "$f")"
    done
else
    failed=$((failed + 1)); failures+=("no flowprobe binary to check the examples (set FLOWPROBE_BIN or cargo build)")
fi

# --- Grafana --------------------------------------------------------------------
step "dashboard structure (tests/deploy/check_dashboard.py)" python3 tests/deploy/check_dashboard.py grafana/flowprobe.json
step "tests/deploy/*.py compile" python3 -c 'import sys; [compile(open(f).read(), f, "exec") for f in sys.argv[1:]]' \
    tests/deploy/dashboard_queries.py tests/deploy/fake_flowprobe.py tests/deploy/check_dashboard.py

# --- systemd --------------------------------------------------------------------
# systemd-analyze verify checks that ExecStart= is executable. Where flowprobe
# is not installed at /usr/local/bin/flowprobe (CI, a developer machine), the
# unit is verified as a copy whose binary path points at a built binary if one
# exists, else at a stub script; everything else in the unit is unchanged.
unit_dir="$tmp/units"; mkdir -p "$unit_dir"
bin=/usr/local/bin/flowprobe
if [ ! -x "$bin" ]; then
    bin=""
    for b in target/release/flowprobe target/debug/flowprobe; do [ -x "$b" ] && bin="$root/$b" && break; done
    if [ -z "$bin" ]; then
        bin="$tmp/stub/flowprobe"; mkdir -p "$tmp/stub"
        printf '#!/bin/sh\nexit 0\n' > "$bin"; chmod +x "$bin"
    fi
    echo "note systemd-analyze verify: ExecStart binary /usr/local/bin/flowprobe -> $bin"
fi
sed "s|/usr/local/bin/flowprobe|$bin|g" systemd/flowprobe.service > "$unit_dir/flowprobe.service"
step "systemd-analyze verify flowprobe.service" bash -c '
    out=$(systemd-analyze verify "'"$unit_dir"'/flowprobe.service" 2>&1); rc=$?
    echo "$out"; [ $rc -eq 0 ] && ! echo "$out" | grep -q "flowprobe.service"'
mkdir -p "$unit_dir/flowprobe.service.d"
cp systemd/flowprobe.service.d/*.conf "$unit_dir/flowprobe.service.d/"
step "systemd-analyze verify flowprobe.service + bind-interface.conf" bash -c '
    out=$(systemd-analyze verify "'"$unit_dir"'/flowprobe.service" 2>&1); rc=$?
    echo "$out"; [ $rc -eq 0 ] && ! echo "$out" | grep -q "flowprobe.service"'

exposure() {  # exposure DIR -> prints the overall exposure score
    systemd-analyze security --offline=yes "$1/flowprobe.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for flowprobe.service: \([0-9.]*\).*/\1/p'
}
# The offline analysis reads drop-ins beside the unit: score the base unit
# alone, then with the opt-in drop-in.
base_dir="$tmp/base"; mkdir -p "$base_dir"; cp "$unit_dir/flowprobe.service" "$base_dir/"
base=$(exposure "$base_dir"); with=$(exposure "$unit_dir")
echo "note exposure: flowprobe.service ${base:-?}, with bind-interface.conf ${with:-?} (limit $max_exposure)"
step "systemd-analyze security flowprobe.service <= $max_exposure (is ${base:-?})" \
    python3 -c "import sys; s='${base}'; sys.exit(0 if s and float(s) <= float('$max_exposure') else 1)"
step "systemd-analyze security with bind-interface.conf <= $max_exposure (is ${with:-?})" \
    python3 -c "import sys; s='${with}'; sys.exit(0 if s and float(s) <= float('$max_exposure') else 1)"
step "systemd-analyze security --threshold agrees" \
    systemd-analyze security --offline=yes --threshold="$(python3 -c "print(int(float('$max_exposure') * 10))")" "$base_dir/flowprobe.service"

for f in systemd/flowprobe.sysusers.conf systemd/flowprobe.tmpfiles.conf; do
    [ -s "$f" ] || { failed=$((failed + 1)); failures+=("$f missing"); }
done
if command -v systemd-sysusers >/dev/null; then
    step "systemd-sysusers --dry-run flowprobe.sysusers.conf" bash -c '
        r="'"$tmp"'/root"; mkdir -p "$r/etc"; : > "$r/etc/passwd"; : > "$r/etc/group"
        systemd-sysusers --root="$r" --dry-run - < systemd/flowprobe.sysusers.conf'
fi

if [ "${1:-}" = "--e2e" ]; then
    step "alert end to end + dashboard queries (tests/deploy/alert_e2e.sh)" bash tests/deploy/alert_e2e.sh
fi

echo
if [ "$failed" -gt 0 ]; then
    printf 'failed: %s\n' "${failures[@]}"
fi
echo "deploy checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
