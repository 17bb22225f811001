//! The command line (docs/command-line.md): `run`, `check`, `config check`,
//! `config show`, `catalog`, `pki check` and `profile check` (before the
//! upload); `completions` and the hidden `man` for packaging.

mod check;
pub(crate) mod docs;
mod fleet;
mod fleet_render;
mod fleet_store;
mod pki;
mod profile;
mod render;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, LogFormat, Overrides};

#[derive(Parser, Debug)]
#[command(
    name = "flowprobe",
    version = crate::version::LONG,
    about = "Proves that the network flows a Jamf Pro MDM deployment needs are open, and only those.",
    after_help = "The manual: /usr/share/doc/flowprobe/README.md and one page per topic in /usr/share/doc/flowprobe/docs/ (configuration.md: every key; reasons.md: every reason; metrics.md: every series). Each command: man flowprobe-COMMAND."
)]
pub struct Cli {
    /// Log level or filter (overrides `log.level`; `RUST_LOG` wins over both).
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Log format (overrides `log.format`).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: probe every flow at its interval, serve /metrics.
    Run {
        /// Configuration file [default: /etc/flowprobe/flowprobe.toml when present, else the embedded default].
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Probe as this vantage (repeatable); default: `vantages` from the file.
        #[arg(long = "vantage")]
        vantages: Vec<String>,
        /// Listen address (overrides `listen.address`).
        #[arg(long)]
        listen: Option<String>,
        /// TLS and basic-auth configuration of the endpoints, in the
        /// exporter-toolkit format (overrides `listen.web_config_file`).
        #[arg(long = "web.config.file", value_name = "FILE")]
        web_config_file: Option<String>,
        /// Enable `POST /-/reload` and `POST /api/v1/check` (403 without).
        #[arg(long = "web.enable-lifecycle")]
        web_enable_lifecycle: bool,
        /// Host names a request's `Host` header may carry (comma list or
        /// repeated); others get 421, so a DNS-rebinding page cannot read
        /// the API [default: any].
        #[arg(long = "web.allowed-hosts", value_delimiter = ',', value_name = "HOST")]
        web_allowed_hosts: Vec<String>,
        /// Connections served at once; more wait in the kernel's backlog.
        #[arg(long = "web.max-connections", default_value_t = 512)]
        web_max_connections: usize,
        /// Close a connection that moves no byte for this long while no
        /// request is being handled (a client that stopped reading).
        #[arg(long = "web.idle-timeout", default_value = "60s", value_parser = humantime::parse_duration)]
        web_idle_timeout: std::time::Duration,
    },
    /// Probe every selected flow once; exit 0 when all meet expectations.
    Check {
        /// Configuration file [default: /etc/flowprobe/flowprobe.toml when present, else the embedded default].
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Probe as this vantage (repeatable); default: `vantages` from the file.
        #[arg(long = "vantage")]
        vantages: Vec<String>,
        /// Output format.
        #[arg(long, short, value_enum, default_value = "table")]
        output: Output,
        /// Only these flows (repeatable).
        #[arg(long = "flow")]
        flows: Vec<String>,
        /// Ask every `[[fleet.instance]]` of the configuration to run its
        /// flows now, and print one merged matrix (exit 3 when one cannot
        /// be asked); with `[fleet.prometheus]`, read the matrix from that
        /// central store instead.
        #[arg(long)]
        fleet: bool,
        /// Ask this flowprobe instance too, with the `[fleet.defaults]`
        /// credentials (repeatable; e.g. https://probe.example.mil:9725).
        #[arg(long = "remote", value_name = "URL")]
        remotes: Vec<String>,
        /// With --fleet/--remote: run this host's flows (its `--vantage`s)
        /// too and merge them in.
        #[arg(long)]
        local: bool,
        /// With --fleet: ask every `[[fleet.instance]]` to probe now even
        /// when `[fleet.prometheus]` is set (which --fleet reads otherwise).
        #[arg(long)]
        direct: bool,
    },
    /// Validate or print the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// List the built-in catalogs, or the flows of one.
    Catalog {
        /// Catalog to list the flows of (e.g. `jamf-pro`).
        name: Option<String>,
    },
    /// Before the upload: audit a PKCS#12 or PEM bundle (`pki check FILE`).
    Pki {
        #[command(subcommand)]
        action: pki::PkiAction,
    },
    /// Before scoping: audit configuration profiles (`profile check FILE...`).
    Profile {
        #[command(subcommand)]
        action: profile::ProfileAction,
    },
    /// Print a shell completion script (e.g. `source <(flowprobe completions bash)`).
    Completions {
        /// Shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (one per command) into a directory; for packaging.
    #[command(hide = true)]
    Man {
        /// Directory to write `flowprobe*.1` into (created when missing).
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Validate and exit: 0 when valid (warnings, if any, on stderr), 2 with
    /// every error listed.
    Check {
        /// Configuration file [default: /etc/flowprobe/flowprobe.toml when present, else the embedded default].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the effective configuration (defaults and catalog included).
    Show {
        /// Configuration file [default: /etc/flowprobe/flowprobe.toml when present, else the embedded default].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
    Junit,
}

/// Exit codes: 0 all good, 1 a flow failed its expectation (`check`) or
/// the command could not run (`run`'s listen address taken, no runtime),
/// 2 usage/config, 3 a fleet instance could not be asked
/// (`check --fleet/--remote`).
pub(crate) const EXIT_FAIL: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;
pub(crate) const EXIT_UNASKED: u8 = 3;

fn overrides(cli: &Cli, vantages: &[String], listen: Option<&String>) -> Overrides {
    Overrides {
        vantages: vantages.to_vec(),
        listen: listen.cloned(),
        web_config_file: None,
        log_level: cli.log_level.clone(),
        log_format: cli.log_format.map(|f| f.as_str().to_string()),
    }
}

fn load_or_report(path: Option<&PathBuf>, o: &Overrides) -> Result<config::Config, ExitCode> {
    config::load(path.map(|p| p.as_path()), o).map_err(|errs| {
        eprint!("{errs}");
        ExitCode::from(EXIT_USAGE)
    })
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Entry point of the binary.
pub fn main(cli: Cli) -> ExitCode {
    match &cli.command {
        Command::Run {
            config,
            vantages,
            listen,
            web_config_file,
            web_enable_lifecycle,
            web_allowed_hosts,
            web_max_connections,
            web_idle_timeout,
        } => {
            let web = run::Web {
                lifecycle: *web_enable_lifecycle,
                limits: crate::web::serve::Limits {
                    max_connections: *web_max_connections,
                    idle_timeout: *web_idle_timeout,
                    allowed_hosts: web_allowed_hosts.clone().into(),
                    ..Default::default()
                },
            };
            let mut o = overrides(&cli, vantages, listen.as_ref());
            o.web_config_file = web_config_file.clone();
            run_daemon(config.as_ref(), o, web)
        }
        Command::Check {
            config,
            vantages,
            output,
            flows,
            fleet,
            remotes,
            local,
            direct,
        } => {
            let args = fleet::Args {
                fleet: *fleet,
                remotes,
                local: *local,
                direct: *direct,
            };
            let o = overrides(&cli, vantages, None);
            run_check(&cli, config.as_ref(), &o, flows, *output, &args)
        }
        Command::Config { action } => match action {
            ConfigAction::Check { config } => config_check(&cli, config.as_ref()),
            ConfigAction::Show { config } => config_show(&cli, config.as_ref()),
        },
        Command::Catalog { name } => render::catalog(name.as_deref()),
        Command::Pki { action } => pki::run(action),
        Command::Profile { action } => profile::run(action),
        Command::Completions { shell } => {
            docs::completions(*shell, &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man { dir } => man(dir),
    }
}

/// `flowprobe run`: the configuration at `config` with the overrides `o`
/// (its web configuration file must load too), then the daemon.
fn run_daemon(config: Option<&PathBuf>, o: Overrides, web: run::Web) -> ExitCode {
    let c = match load_or_report(config, &o) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(w) = &c.web_config_file
        && let Err(errs) = config::web_config::load_web_config(w)
    {
        eprint!("{errs}");
        return ExitCode::from(EXIT_USAGE);
    }
    init_logging(&c.log.level, c.log.format);
    run::serve(
        c,
        config::resolve_path(config.map(PathBuf::as_path)),
        o,
        web,
    )
}

/// `flowprobe check`: the local flows, or a fleet check when `args` names
/// instances.
fn run_check(
    cli: &Cli,
    config: Option<&PathBuf>,
    o: &Overrides,
    flows: &[String],
    output: Output,
    args: &fleet::Args,
) -> ExitCode {
    if args.direct && !args.fleet {
        eprintln!("--direct chooses how --fleet asks: give --fleet too");
        return ExitCode::from(EXIT_USAGE);
    }
    if args.local && !args.fleet && args.remotes.is_empty() {
        eprintln!(
            "--local mixes this host's flows into a fleet check: give --fleet or --remote URL too"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let c = match load_or_report(config, o) {
        Ok(c) => c,
        Err(code) => return code,
    };
    init_logging(cli.log_level.as_deref().unwrap_or("warn"), c.log.format);
    if args.fleet || !args.remotes.is_empty() {
        return fleet::run(&c, flows, output, args);
    }
    check::run(&c, flows, output)
}

/// `flowprobe config check`.
fn config_check(cli: &Cli, config: Option<&PathBuf>) -> ExitCode {
    let o = overrides(cli, &[], None);
    match load_or_report(config, &o) {
        Ok(c) => {
            println!(
                "{}: valid; {} flows ({} active for vantages {})",
                c.origin,
                c.flows.len(),
                c.active_flows().count(),
                c.vantages.join(", ")
            );
            // Warnings do not make a configuration invalid.
            for w in config::warnings(&c) {
                eprintln!("{w}");
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `flowprobe config show`.
fn config_show(cli: &Cli, config: Option<&PathBuf>) -> ExitCode {
    let o = overrides(cli, &[], None);
    match load_or_report(config, &o) {
        Ok(c) => {
            print!("{}", config::to_toml(&c));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `flowprobe man --dir DIR`: each page written, one per line.
fn man(dir: &Path) -> ExitCode {
    match docs::man_pages(dir) {
        Ok(pages) => {
            for p in pages {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("flowprobe man: {}: {e}", dir.display());
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The runtime of a one-shot command (`check`, the fleet check): every
/// core, since it runs once. A failure (threads or descriptors refused) is
/// neither usage nor configuration: exit 1, as a daemon that cannot run,
/// said once.
fn one_shot_runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("cannot start the runtime: {e}");
            ExitCode::from(EXIT_FAIL)
        })
}

/// The daemon's runtime. With one worker it is tokio's current-thread
/// runtime: no wake-ups between worker threads, which on a 2-core host cost
/// as much CPU per TCP probe as the probe's own syscalls. `/metrics`
/// encoding and other blocking work still run on the blocking pool.
fn runtime(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    }
}
