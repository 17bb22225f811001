//! Configuration: typed settings, the built-in catalogs, layered loading and
//! validation that reports every error with its file and key path.

pub mod catalog;
mod error;
mod load;
mod locate;
pub(crate) mod raw;
mod show;
mod types;
pub(crate) mod validate;

pub(crate) use error::Collector;
pub use error::{ConfigError, ConfigErrors};
pub use load::{DEFAULT_PATH, Overrides, load, load_with_env, resolve_path};
pub use show::to_toml;
pub use types::*;
