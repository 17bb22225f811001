//! Configuration warnings: a valid configuration that will not behave as
//! its author probably expects. `config check` prints them on stderr and
//! still exits 0; loading never fails for them.

use std::fmt;

use super::types::Config;

/// One warning, located like a [`super::ConfigError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The file (or `embedded default`) of the configuration.
    pub origin: String,
    /// Dotted key path of the setting to change, e.g. `defaults.ssh_pace`.
    pub key: String,
    pub message: String,
}

impl ConfigWarning {
    pub fn new(origin: &str, key: &str, message: String) -> Self {
        ConfigWarning {
            origin: origin.to_string(),
            key: key.to_string(),
            message,
        }
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "warning: {}: {}: {}",
            self.origin, self.key, self.message
        )
    }
}

/// Every warning about `c`, in a stable order.
pub fn warnings(c: &Config) -> Vec<ConfigWarning> {
    super::ssh_pace::warnings(c)
}
