#!/usr/bin/env python3
"""Structural check of grafana/flowprobe.json (stdlib only).

Fails when: panel ids are not unique; a panel or target does not use the
`${datasource}` variable; the datasource/site/vantage/flow variables are missing
or of the wrong type; a target has no expr; a per-flow query ignores the
$site or $vantage filter (docs/fleet.md, "Many sites": the same vantage runs at many
sites); the schema version is too old.
Usage: check_dashboard.py [grafana/flowprobe.json]
"""
import json
import sys

DS_UID = "${datasource}"


def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))


def main(path):
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    errors = []
    if dash.get("schemaVersion", 0) < 36:
        errors.append(f"schemaVersion {dash.get('schemaVersion')} < 36")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        errors.append("variable `datasource` (type datasource, query prometheus) missing")
    for name in ("site", "vantage", "flow"):
        v = variables.get(name)
        if not v or v.get("type") != "query":
            errors.append(f"query variable `{name}` missing")
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        if f"label_values(" not in q or name not in q:
            errors.append(f"variable `{name}` is not label_values(..., {name}): {q!r}")
        if (v.get("datasource") or {}).get("uid") != DS_UID:
            errors.append(f"variable `{name}` does not use {DS_UID}")
    ids = {}
    n_targets = 0
    for p in walk(dash.get("panels", [])):
        pid = p.get("id")
        title = p.get("title", "?")
        if pid is None:
            errors.append(f"panel {title!r} has no id")
        elif pid in ids:
            errors.append(f"panel id {pid} used by {ids[pid]!r} and {title!r}")
        else:
            ids[pid] = title
        if p.get("type") == "row":
            continue
        if (p.get("datasource") or {}).get("uid") != DS_UID:
            errors.append(f"panel {title!r}: datasource is not {DS_UID}")
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"panel {title!r} has no targets")
        for t in targets:
            n_targets += 1
            if (t.get("datasource") or {}).get("uid") != DS_UID:
                errors.append(f"panel {title!r} target {t.get('refId')}: datasource is not {DS_UID}")
            expr = (t.get("expr") or "").strip()
            if not expr:
                errors.append(f"panel {title!r} target {t.get('refId')}: no expr")
            elif "flowprobe_" in expr and "$vantage" not in expr and "ALERTS" not in expr:
                errors.append(f"panel {title!r} target {t.get('refId')}: ignores $vantage")
            elif ("flowprobe" in expr or "ALERTS" in expr) and "$site" not in expr:
                errors.append(f"panel {title!r} target {t.get('refId')}: ignores $site")
        refs = [t.get("refId") for t in targets]
        if len(refs) != len(set(refs)):
            errors.append(f"panel {title!r}: duplicate refIds {refs}")
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("builtIn"):
            continue
        if (a.get("datasource") or {}).get("uid") != DS_UID:
            errors.append(f"annotation {a.get('name')!r}: datasource is not {DS_UID}")
    for e in errors:
        print(f"dashboard: {e}", file=sys.stderr)
    print(f"dashboard: {len(ids)} panels, {n_targets} targets, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "grafana/flowprobe.json"))
