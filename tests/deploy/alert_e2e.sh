#!/usr/bin/env bash
# End to end through the real Prometheus and Alertmanager, on loopback only:
# metrics -> rules -> Alertmanager (deploy/alertmanager/alertmanager.yml, with
# the webhooks pointed at a local receiver and group_wait shortened) -> pager.
#
#   tests/deploy/alert_e2e.sh                 # against tests/deploy/fake_flowprobe.py
#
# It breaks a required flow (mobile-mdm-https), asserts that
# FlowprobeRequiredFlowDown reaches Alertmanager's API with the expected labels
# and description and is delivered to the pager webhook, restores the flow and
# asserts the alert resolves. It also runs tests/deploy/dashboard_queries.py.
# With the real daemon, the lab tests do the same with a blocked flow.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
for t in prometheus python3 curl; do
    command -v $t >/dev/null || { echo "missing $t"; exit 1; }
done
# Debian names the binary prometheus-alertmanager.
alertmanager=$(command -v alertmanager || command -v prometheus-alertmanager) || { echo "missing alertmanager"; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
P=${E2E_PORT_BASE:-19100}
prom=127.0.0.1:$((P + 90)) am=127.0.0.1:$((P + 93)) hook=127.0.0.1:$((P + 95))

# Live mode (E2E_TARGETS set): scrape real flowprobe daemons, e.g. inside
# the lab (tests/lab.rs runs this script in the lab's firewall namespace),
# break a flow with E2E_DOWN_CMD and restore it with E2E_UP_CMD. Otherwise
# two fake exporters stand in (quick check of the rules alone).
E2E_FLOW=${E2E_FLOW:-mobile-mdm-https}
E2E_VANTAGE=${E2E_VANTAGE:-mobile-devices}
E2E_HOST=${E2E_HOST:-mdm.lab.test}
E2E_PORT=${E2E_PORT:-443}
E2E_REASON=${E2E_REASON:-filtered}
if [ -n "${E2E_TARGETS:-}" ]; then
    scrape_targets=""
    for t in $E2E_TARGETS; do
        scrape_targets="$scrape_targets
      - targets: [\"${t%%=*}\"]
        labels: {vantage: ${t##*=}}"
    done
    n_targets=$(echo $E2E_TARGETS | wc -w)
    down() { bash -c "$E2E_DOWN_CMD"; }
    up() { bash -c "$E2E_UP_CMD"; }
else
    python3 tests/deploy/fake_flowprobe.py --listen 127.0.0.1:$((P + 25)) --vantage mobile-devices \
        --interval 2 --down-file "$tmp/down" >"$tmp/fake1.log" 2>&1 & pids+=($!)
    python3 tests/deploy/fake_flowprobe.py --listen 127.0.0.1:$((P + 26)) --vantage administrators \
        --interval 2 >"$tmp/fake2.log" 2>&1 & pids+=($!)
    scrape_targets="
      - targets: [\"127.0.0.1:$((P + 25))\"]
        labels: {vantage: mobile-devices}
      - targets: [\"127.0.0.1:$((P + 26))\"]
        labels: {vantage: administrators}"
    n_targets=2
    down() { echo "$E2E_FLOW" > "$tmp/down"; }
    up() { : > "$tmp/down"; }
fi

python3 - "$hook" "$tmp/hook.jsonl" >"$tmp/hook.log" 2>&1 <<'PY' & pids+=($!)
import http.server, json, sys
host, port = sys.argv[1].rsplit(":", 1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer((host, int(port)), H).serve_forever()
PY

sed -e "s|http://127.0.0.1:9095/|http://$hook/|" -e "s|group_wait: 30s|group_wait: 1s|" -e "s|group_interval: 5m|group_interval: 2s|" \
    deploy/alertmanager/alertmanager.yml > "$tmp/alertmanager.yml"
"$alertmanager" --config.file="$tmp/alertmanager.yml" --storage.path="$tmp/am" \
    --web.listen-address="$am" --cluster.listen-address= >"$tmp/am.log" 2>&1 & pids+=($!)

cp deploy/prometheus/flowprobe.rules.yml "$tmp/"
cat > "$tmp/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [flowprobe.rules.yml]
alerting:
  alertmanagers: [{static_configs: [{targets: ["$am"]}]}]
scrape_configs:
  - job_name: flowprobe
    honor_labels: true
    static_configs:$scrape_targets
YML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
    --web.listen-address="$prom" >"$tmp/prom.log" 2>&1 & pids+=($!)

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { echo "FAIL timed out: $what"; tail -n 5 "$tmp"/*.log; exit 1; }
        sleep 1
    done
    echo "ok   $what"
}
am_alert() {  # prints FlowprobeRequiredFlowDown as Alertmanager's API returns it
    curl -sf "http://$am/api/v2/alerts?filter=alertname%3D%22FlowprobeRequiredFlowDown%22&filter=flow%3D%22$E2E_FLOW%22"
}
wait_for 60 "Prometheus and Alertmanager ready" bash -c "curl -sf http://$prom/-/ready && curl -sf http://$am/-/ready"
wait_for 60 "all $n_targets vantages scraped" bash -c "curl -sf 'http://$prom/api/v1/query?query=count(up%7Bjob%3D%22flowprobe%22%7D%3D%3D1)' | grep -q '\"$n_targets\"'"

down
wait_for 90 "FlowprobeRequiredFlowDown reaches Alertmanager" bash -c "$(declare -f am_alert); am=$am; E2E_FLOW=$E2E_FLOW; am_alert | grep -q FlowprobeRequiredFlowDown"
am_alert > "$tmp/alert.json"
python3 - "$tmp/alert.json" "$E2E_FLOW" "$E2E_VANTAGE" "$E2E_HOST" "$E2E_PORT" "$E2E_REASON" <<'PY'
import json, sys
flow, vantage, host, port, reason = sys.argv[2:7]
alerts = json.load(open(sys.argv[1]))
assert len(alerts) == 1, alerts
a = alerts[0]
want = {"alertname": "FlowprobeRequiredFlowDown", "severity": "critical", "flow_severity": "critical",
        "vantage": vantage, "flow": flow, "host": host, "port": port,
        "expect": "open", "check": "tls", "category": "flow", "job": "flowprobe"}
got = {k: a["labels"].get(k) for k in want}
assert got == want, f"labels: {got} != {want}"
d = a["annotations"]["description"]
for part in (f"Flow {flow} (tls) from vantage {vantage}", f"{host}:{port}", f"reason: {reason}."):
    assert part in d, f"{part!r} not in {d!r}"
assert a["annotations"]["runbook_url"].endswith("RUNBOOK.md#flowproberequiredflowdown")
assert sorted(r["name"] for r in a["receivers"]) == ["chat", "pager"], a["receivers"]
print("alert as Alertmanager's API returned it:")
print(json.dumps({k: a[k] for k in ("labels", "annotations", "receivers", "status")}, indent=2, sort_keys=True))
PY
wait_for 30 "pager webhook notified" grep -q '"/pager".*FlowprobeRequiredFlowDown' "$tmp/hook.jsonl"

python3 tests/deploy/dashboard_queries.py --prometheus "http://$prom" --retry-for 60

up
wait_for 90 "FlowprobeRequiredFlowDown resolved in Alertmanager" bash -c "$(declare -f am_alert); am=$am; E2E_FLOW=$E2E_FLOW; ! am_alert | grep -q FlowprobeRequiredFlowDown"
wait_for 30 "resolved notification delivered" grep -q '"status": "resolved".*FlowprobeRequiredFlowDown' "$tmp/hook.jsonl"
echo "alert e2e: 1 passed, 0 failed"
