//! Loading: layer embedded defaults, the catalog, the file and `FLOWPROBE_...`
//! environment variables, then hand the merged tree to validation.
//!
//! The `config` crate does the layering of defaults, file and environment;
//! the catalog is merged by flow name here, because `config` replaces arrays
//! wholesale and users override single fields of a catalog flow.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::catalog::{self, DEFAULTS_TOML, EMBEDDED_TOML};
use super::error::{Collector, ConfigError, ConfigErrors};
use super::locate;
use super::types::Config;
use super::validate;

/// Where `flowprobe` looks when no `--config` is given.
pub const DEFAULT_PATH: &str = "/etc/flowprobe/flowprobe.toml";

/// Environment variables with this prefix override file values:
/// `FLOWPROBE_LISTEN__ADDRESS=0.0.0.0:9725`, `FLOWPROBE_VANTAGES=a,b`.
pub(crate) const ENV_PREFIX: &str = "FLOWPROBE";

/// Settings given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub vantages: Vec<String>,
    pub listen: Option<String>,
    pub web_config_file: Option<String>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
}

/// The file to read: the one given, else the default path when it exists.
pub fn resolve_path(given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let p = Path::new(DEFAULT_PATH);
            p.exists().then(|| p.to_path_buf())
        }
    }
}

/// Load and validate. Every error is returned, each with origin and key.
pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigErrors> {
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("FLOWPROBE_") && k != "FLOWPROBE_CONFIG")
        .collect();
    load_with_env(resolve_path(file).as_deref(), overrides, env)
}

/// [`load`] with an explicit environment, so tests need not mutate the
/// process environment.
pub fn load_with_env(
    file: Option<&Path>,
    overrides: &Overrides,
    env: BTreeMap<String, String>,
) -> Result<Config, ConfigErrors> {
    let (origin, text) = match file {
        Some(path) => {
            let origin = path.display().to_string();
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) => {
                    return Err(one(&origin, "", format!("cannot read file: {e}")));
                }
            };
            match locate::utf8(bytes) {
                Ok(t) => (origin, t),
                Err(e) => return Err(one(&origin, "", e)),
            }
        }
        None => ("embedded default".to_string(), EMBEDDED_TOML.to_string()),
    };
    from_text(&origin, &text, overrides, env)
}

/// Load a configuration from its text; `origin` names it in every error
/// (the file path, or "embedded default"). The entry point of the config
/// fuzz target: whatever the text, a configuration or located errors.
pub fn from_text(
    origin: &str,
    text: &str,
    overrides: &Overrides,
    env: BTreeMap<String, String>,
) -> Result<Config, ConfigErrors> {
    let (origin, text) = (origin.to_string(), text.to_string());
    // Syntax first, with our own parser: it gives line and column.
    match text.parse::<toml::Table>() {
        Err(e) => {
            let msg = e.message().to_string();
            let at = match e.span() {
                Some(s) => {
                    let (l, c) = locate::line_col(&text, s.start);
                    format!("TOML syntax error at line {l}, column {c}: ")
                }
                None => match locate::spanless_error_line(&text, &msg) {
                    Some(l) => format!("TOML syntax error at line {l}: "),
                    None => "TOML syntax error: ".into(),
                },
            };
            return Err(one(&origin, "", format!("{at}{msg}")));
        }
        Ok(table) => {
            if let Some(path) = locate::too_deep(&table) {
                return Err(one(
                    &origin,
                    &path,
                    format!(
                        "nested deeper than {} levels; no setting nests this far",
                        locate::MAX_DEPTH
                    ),
                ));
            }
        }
    }

    let env_keys: Vec<String> = env
        .keys()
        .map(|k| {
            k.trim_start_matches("FLOWPROBE_")
                .to_lowercase()
                .replace("__", ".")
        })
        .collect();
    let environment = config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("_")
        .separator("__")
        .list_separator(",")
        .with_list_parse_key("vantages")
        .try_parsing(true)
        .source(Some(env.into_iter().collect()));
    let layered = config::Config::builder()
        .add_source(config::File::from_str(
            DEFAULTS_TOML,
            config::FileFormat::Toml,
        ))
        .add_source(config::File::from_str(&text, config::FileFormat::Toml))
        .add_source(environment)
        .build()
        .and_then(|c| c.try_deserialize::<toml::Value>());
    let mut tree = match layered {
        Ok(toml::Value::Table(t)) => t,
        Ok(_) => return Err(one(&origin, "", "top level is not a table")),
        Err(e) => return Err(one(&origin, "", e.to_string())),
    };
    apply_overrides(&mut tree, overrides);

    let mut errs = Collector::new(origin.clone());
    let merged = merge_catalog(tree, &mut errs);
    let config = merged.and_then(|tree| validate::validate(tree, &origin, &mut errs));
    if errs.errors.is_empty()
        && let Some(c) = config
    {
        return Ok(c);
    }
    // Attribute errors under a key set by the environment to it.
    let mut errors = errs.errors;
    for e in &mut errors {
        if let Some(k) = env_keys.iter().find(|k| e.key.starts_with(k.as_str())) {
            e.origin = format!(
                "environment (FLOWPROBE_{})",
                k.to_uppercase().replace('.', "__")
            );
        }
    }
    if errors.is_empty() {
        errors.push(ConfigError {
            origin,
            key: String::new(),
            message: "invalid configuration".into(),
        });
    }
    Err(ConfigErrors(errors))
}

fn one(origin: &str, key: &str, message: impl Into<String>) -> ConfigErrors {
    ConfigErrors(vec![ConfigError {
        origin: origin.to_string(),
        key: key.to_string(),
        message: message.into(),
    }])
}

fn apply_overrides(tree: &mut toml::Table, o: &Overrides) {
    if !o.vantages.is_empty() {
        let list = o
            .vantages
            .iter()
            .cloned()
            .map(toml::Value::String)
            .collect();
        tree.insert("vantages".into(), toml::Value::Array(list));
    }
    let mut set = |section: &str, key: &str, value: &Option<String>| {
        if let Some(v) = value {
            let entry = tree
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                t.insert(key.into(), toml::Value::String(v.clone()));
            }
        }
    };
    set("listen", "address", &o.listen);
    set("listen", "web_config_file", &o.web_config_file);
    set("log", "level", &o.log_level);
    set("log", "format", &o.log_format);
}

/// Merge the named catalog under the file: catalog targets under the file's
/// targets, and each catalog flow under the file flow of the same name.
fn merge_catalog(mut tree: toml::Table, errs: &mut Collector) -> Option<toml::Table> {
    let names: Vec<String> = match tree.get("catalog") {
        Some(toml::Value::String(s)) => vec![s.clone()],
        Some(toml::Value::Array(a)) if a.iter().all(|v| v.is_str()) && !a.is_empty() => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            errs.push(
                "catalog",
                "must be a catalog name, a list of them (catalog = [\"jamf-pro\", \"apple-mdm\"]) or \"none\"",
            );
            return None;
        }
        None => vec![catalog::NO_CATALOG.to_string()],
    };
    if names.len() == 1 && names[0] == catalog::NO_CATALOG {
        return Some(tree);
    }
    // Validation sees the names joined: `Config::catalog` is "jamf-pro, apple-mdm".
    tree.insert("catalog".into(), toml::Value::String(names.join(", ")));
    let mut base = combined_catalogs(&names, errs)?;
    // Targets: the file wins. A `targets` that is not a table stays as
    // written, so validation reports it.
    match tree.remove("targets") {
        Some(toml::Value::Table(user)) => {
            let targets = base
                .entry("targets")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = targets {
                t.extend(user);
            }
        }
        Some(other) => {
            tree.insert("targets".into(), other);
        }
        None => {}
    }
    if let Some(t) = base.remove("targets") {
        tree.entry("targets").or_insert(t);
    }
    // Flows: merge by name, catalog order first, then the file's own flows.
    let mut flows: Vec<toml::Value> = match base.remove("flow") {
        Some(toml::Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let user_flows = match tree.remove("flow") {
        Some(toml::Value::Array(a)) => a,
        Some(_) => {
            errs.push("flow", "must be an array of tables ([[flow]])");
            Vec::new()
        }
        None => Vec::new(),
    };
    // Catalog flows by name (the first of a name), each overridden at most
    // once: a second file flow of that name is then a duplicate, which
    // validation reports. A map, so merging stays linear in the flows.
    let mut by_name: HashMap<String, Option<usize>> = HashMap::new();
    for (i, f) in flows.iter().enumerate() {
        if let Some(n) = f.get("name").and_then(|x| x.as_str()) {
            by_name.entry(n.to_string()).or_insert(Some(i));
        }
    }
    for user in user_flows {
        let slot = user
            .get("name")
            .and_then(|n| n.as_str())
            .and_then(|n| by_name.get_mut(n))
            .and_then(Option::take);
        match slot {
            Some(i) => deep_merge(&mut flows[i], user),
            None => flows.push(user),
        }
    }
    tree.insert("flow".into(), toml::Value::Array(flows));
    Some(tree)
}

/// The catalogs named, in order, as one table: their targets (a name two
/// catalogs give different hosts is an error) and their flows (a flow name
/// in two catalogs is an error).
fn combined_catalogs(names: &[String], errs: &mut Collector) -> Option<toml::Table> {
    let known: Vec<_> = catalog::CATALOGS.iter().map(|c| c.name).collect();
    let mut targets = toml::Table::new();
    let mut flows: Vec<toml::Value> = Vec::new();
    let mut flow_origin: BTreeMap<String, String> = BTreeMap::new();
    let before = errs.errors.len();
    for (i, name) in names.iter().enumerate() {
        let key = if names.len() == 1 {
            "catalog".to_string()
        } else {
            format!("catalog[{i}]")
        };
        if names[..i].contains(name) {
            errs.push(&key, format!("catalog {name:?} is named twice"));
            continue;
        }
        let Some(cat) = catalog::find(name) else {
            errs.push(
                &key,
                format!(
                    "unknown catalog {name:?}; built-in: {}, or \"none\"",
                    known.join(", ")
                ),
            );
            continue;
        };
        let Ok(mut table) = cat.toml.parse::<toml::Table>() else {
            errs.push(&key, format!("built-in catalog {name} does not parse"));
            continue;
        };
        if let Some(toml::Value::Table(t)) = table.remove("targets") {
            for (target, host) in t {
                match targets.get(&target) {
                    Some(h) if *h != host => errs.push(
                        &key,
                        format!("catalog {name} gives target {target:?} another host than an earlier catalog"),
                    ),
                    _ => {
                        targets.insert(target, host);
                    }
                }
            }
        }
        if let Some(toml::Value::Array(a)) = table.remove("flow") {
            for f in a {
                let flow = f
                    .get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or_default()
                    .to_string();
                if let Some(first) = flow_origin.insert(flow.clone(), name.clone()) {
                    errs.push(
                        &key,
                        format!("flow {flow:?} is in catalogs {first} and {name}"),
                    );
                }
                flows.push(f);
            }
        }
    }
    if errs.errors.len() != before {
        return None;
    }
    let mut base = toml::Table::new();
    base.insert("targets".into(), toml::Value::Table(targets));
    base.insert("flow".into(), toml::Value::Array(flows));
    Some(base)
}

/// Tables merge key by key; any other value is replaced.
fn deep_merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}
