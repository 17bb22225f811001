//! Configuration: typed settings, the built-in catalogs, layered loading and
//! validation that reports every error with its file and key path.

pub mod catalog;
pub mod check;
mod error;
pub mod fleet;
mod load;
mod locate;
pub(crate) mod raw;
mod show;
pub mod ssh_pace;
mod target;
mod types;
pub(crate) mod validate;
mod warning;
pub mod web_config;

pub use check::{CheckKind, CheckSpec, SshPolicies};
pub(crate) use error::Collector;
pub use error::{ConfigError, ConfigErrors};
pub use load::{DEFAULT_PATH, Overrides, from_text, load, load_with_env, resolve_path};
pub use show::to_toml;
pub use target::Target;
pub use types::*;
pub use warning::{ConfigWarning, warnings};
