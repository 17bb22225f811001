//! Configuration: typed settings, the built-in catalogs, layered loading and
//! validation that reports every error with its file and key path.

pub(crate) mod catalog;
mod error;
pub(crate) mod fleet;
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

pub use crate::kinds::ssh::SshPolicies;
pub use crate::kinds::{KindId, KindSpec};
pub use error::Collector;
pub use error::{ConfigError, ConfigErrors};
pub use load::{DEFAULT_PATH, Overrides, from_text, load, load_with_env, resolve_path};
pub use show::to_toml;
pub use target::Target;
pub use types::*;
pub use warning::{ConfigWarning, warnings};
