//! The typed runtime configuration: `Leptos.toml`, then environment overrides.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use serde::Deserialize;

/// Where the configuration file is looked for unless `SESSIONGUARD_CONFIG` names another.
pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";

/// Everything the server reads at start-up, after defaults, `Leptos.toml` and the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address the HTTP server listens on (`SITE_ADDR`).
    pub site_addr: SocketAddr,
    /// Whether `X-Forwarded-For` names the client (`TRUST_PROXY`).
    pub trust_proxy: bool,
    /// MongoDB connection string (`MONGODB_URI`).
    pub mongodb_uri: String,
    /// MongoDB database name (`MONGODB_DB`).
    pub mongodb_db: String,
    /// How long to wait for an unreachable MongoDB (`MONGODB_TIMEOUT_MS`).
    pub server_selection_timeout: Duration,
    /// Whether the session cookie is `Secure` and `__Host-` prefixed (`COOKIE_SECURE`).
    pub cookie_secure: bool,
    /// Idle timeout (`IDLE_TIMEOUT_SECS`).
    pub idle_timeout: Duration,
    /// Absolute session lifetime from login (`ABSOLUTE_TIMEOUT_SECS`).
    pub absolute_timeout: Duration,
    /// Minimum time between writes of an unchanged session (`TOUCH_INTERVAL_SECS`).
    pub touch_interval: Duration,
    /// Period of the expired-session sweep (`SWEEP_INTERVAL_SECS`).
    pub sweep_interval: Duration,
    /// Failed sign-ins allowed per account per window (`LOGIN_MAX_FAILURES_PER_ACCOUNT`).
    pub max_failures_per_account: u32,
    /// Failed sign-ins allowed per client address per window (`LOGIN_MAX_FAILURES_PER_IP`).
    pub max_failures_per_ip: u32,
    /// Throttling window (`LOGIN_THROTTLE_WINDOW_SECS`).
    pub throttle_window: Duration,
}

impl Default for Config {
    /// The defaults, here and nowhere else: what runs when neither `Leptos.toml` nor the
    /// environment says otherwise. 30 minutes idle, 12 hours absolute, a touch at most once a
    /// minute, a sweep every 5 minutes, and 5 failed sign-ins per account or 20 per address
    /// within 15 minutes. The cookie is plain unless `LEPTOS_ENV=PROD` or `COOKIE_SECURE` say otherwise.
    fn default() -> Self {
        Self {
            site_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            trust_proxy: false,
            mongodb_uri: "mongodb://127.0.0.1:27017".into(),
            mongodb_db: "sessionguard".into(),
            server_selection_timeout: Duration::from_millis(2000),
            cookie_secure: false,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            touch_interval: Duration::from_secs(60),
            sweep_interval: Duration::from_secs(300),
            max_failures_per_account: 5,
            max_failures_per_ip: 20,
            throttle_window: Duration::from_secs(15 * 60),
        }
    }
}

/// Why the configuration could not be loaded. Each message names the file or variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `SESSIONGUARD_CONFIG` could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has a value of the wrong type, or has an unknown key.
    #[error("invalid configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's explanation, with the offending key.
        message: String,
    },
    /// An environment variable holds a value of the wrong form.
    #[error("invalid value {value:?} for environment variable {name}: expected {expected}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What it held.
        value: String,
        /// What form it should have.
        expected: &'static str,
    },
    /// A value is well-formed but unusable.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    mongodb: MongoSection,
    #[serde(default)]
    session: SessionSection,
    #[serde(default)]
    throttle: ThrottleSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    site_addr: Option<SocketAddr>,
    trust_proxy: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MongoSection {
    uri: Option<String>,
    database: Option<String>,
    server_selection_timeout_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionSection {
    cookie_secure: Option<bool>,
    idle_timeout_secs: Option<u64>,
    absolute_timeout_secs: Option<u64>,
    touch_interval_secs: Option<u64>,
    sweep_interval_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottleSection {
    max_failures_per_account: Option<u32>,
    max_failures_per_ip: Option<u32>,
    window_secs: Option<u64>,
}

impl Config {
    /// Loads the configuration of this process: the file named by `SESSIONGUARD_CONFIG`, or
    /// `Leptos.toml` in the working directory when present, then the environment on top.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, key or variable that is wrong.
    pub fn load() -> Result<Self, ConfigError> {
        let (path, required) = match std::env::var_os("SESSIONGUARD_CONFIG") {
            Some(path) => (PathBuf::from(path), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(err) if !required && err.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::from_sources(text.as_deref().map(|t| (path.as_path(), t)), |name| std::env::var(name).ok())
    }

    /// Builds the configuration from a file's text (if any) and an environment lookup.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, key or variable that is wrong.
    pub fn from_sources(file: Option<(&std::path::Path, &str)>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file: FileConfig = match file {
            Some((path, text)) => toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?,
            None => FileConfig::default(),
        };
        let env = Env(&env);
        let production = env.get("LEPTOS_ENV").is_some_and(|v| v.eq_ignore_ascii_case("PROD"));
        let default = Self::default();
        let secs = |name: &'static str, from_file: Option<u64>, default: Duration| -> Result<Duration, ConfigError> {
            Ok(env.parse(name, "seconds")?.or(from_file).map_or(default, Duration::from_secs))
        };
        let config = Self {
            site_addr: env.parse("SITE_ADDR", "an address like 127.0.0.1:3000")?.or(file.server.site_addr).unwrap_or(default.site_addr),
            trust_proxy: env.parse("TRUST_PROXY", "true or false")?.or(file.server.trust_proxy).unwrap_or(default.trust_proxy),
            mongodb_uri: env.get("MONGODB_URI").or(file.mongodb.uri).unwrap_or(default.mongodb_uri),
            mongodb_db: env.get("MONGODB_DB").or(file.mongodb.database).unwrap_or(default.mongodb_db),
            server_selection_timeout: env
                .parse("MONGODB_TIMEOUT_MS", "milliseconds")?
                .or(file.mongodb.server_selection_timeout_ms)
                .map_or(default.server_selection_timeout, Duration::from_millis),
            cookie_secure: env
                .parse("COOKIE_SECURE", "true or false")?
                .or(file.session.cookie_secure)
                .unwrap_or(default.cookie_secure || production),
            idle_timeout: secs("IDLE_TIMEOUT_SECS", file.session.idle_timeout_secs, default.idle_timeout)?,
            absolute_timeout: secs("ABSOLUTE_TIMEOUT_SECS", file.session.absolute_timeout_secs, default.absolute_timeout)?,
            touch_interval: secs("TOUCH_INTERVAL_SECS", file.session.touch_interval_secs, default.touch_interval)?,
            sweep_interval: secs("SWEEP_INTERVAL_SECS", file.session.sweep_interval_secs, default.sweep_interval)?,
            max_failures_per_account: env
                .parse("LOGIN_MAX_FAILURES_PER_ACCOUNT", "a whole number")?
                .or(file.throttle.max_failures_per_account)
                .unwrap_or(default.max_failures_per_account),
            max_failures_per_ip: env
                .parse("LOGIN_MAX_FAILURES_PER_IP", "a whole number")?
                .or(file.throttle.max_failures_per_ip)
                .unwrap_or(default.max_failures_per_ip),
            throttle_window: secs("LOGIN_THROTTLE_WINDOW_SECS", file.throttle.window_secs, default.throttle_window)?,
        };
        config.validate()
    }

    fn validate(self) -> Result<Self, ConfigError> {
        if self.idle_timeout.is_zero() || self.absolute_timeout.is_zero() {
            return Err(ConfigError::Invalid("idle and absolute timeouts must be longer than zero".into()));
        }
        if self.sweep_interval.is_zero() || self.server_selection_timeout.is_zero() {
            return Err(ConfigError::Invalid("the sweep interval and MongoDB timeout must be longer than zero".into()));
        }
        if self.mongodb_db.is_empty() {
            return Err(ConfigError::Invalid("the MongoDB database name (MONGODB_DB) is empty".into()));
        }
        Ok(self)
    }
}

/// Typed reads of environment variables; empty values count as unset.
struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, name: &'static str, expected: &'static str) -> Result<Option<T>, ConfigError> {
        self.get(name).map(|value| value.trim().parse().map_err(|_| ConfigError::Env { name, value: value.clone(), expected })).transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn without_file_or_env_the_defaults_apply() {
        assert_eq!(Config::from_sources(None, no_env).unwrap(), Config::default());
    }

    #[test]
    fn the_shipped_file_parses_and_changes_nothing() {
        let text = include_str!("../Leptos.toml");
        let config = Config::from_sources(Some((Path::new("Leptos.toml"), text)), no_env).unwrap();
        assert_eq!(config, Config::default(), "Leptos.toml lists the keys; the defaults live in Config::default");
    }

    #[test]
    fn the_readme_table_states_the_defaults() {
        let readme = include_str!("../README.md");
        let d = Config::default();
        let rows = [
            ("MONGODB_URI", d.mongodb_uri.clone()),
            ("MONGODB_DB", d.mongodb_db.clone()),
            ("MONGODB_TIMEOUT_MS", d.server_selection_timeout.as_millis().to_string()),
            ("SITE_ADDR", d.site_addr.to_string()),
            ("TRUST_PROXY", d.trust_proxy.to_string()),
            ("IDLE_TIMEOUT_SECS", d.idle_timeout.as_secs().to_string()),
            ("ABSOLUTE_TIMEOUT_SECS", d.absolute_timeout.as_secs().to_string()),
            ("TOUCH_INTERVAL_SECS", d.touch_interval.as_secs().to_string()),
            ("SWEEP_INTERVAL_SECS", d.sweep_interval.as_secs().to_string()),
            ("LOGIN_MAX_FAILURES_PER_ACCOUNT", d.max_failures_per_account.to_string()),
            ("LOGIN_MAX_FAILURES_PER_IP", d.max_failures_per_ip.to_string()),
            ("LOGIN_THROTTLE_WINDOW_SECS", d.throttle_window.as_secs().to_string()),
        ];
        for (name, value) in rows {
            let row = format!("| `{name}` | `{value}` |");
            assert!(readme.contains(&row), "README.md's configuration table should have the row starting {row}");
        }
    }

    #[test]
    fn environment_overrides_the_file() {
        let text = "[mongodb]\ndatabase = \"fromfile\"\n";
        let env = |name: &str| (name == "MONGODB_DB").then(|| "fromenv".to_string());
        let config = Config::from_sources(Some((Path::new("x.toml"), text)), env).unwrap();
        assert_eq!(config.mongodb_db, "fromenv");
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        let text = "[session]\nidle_timeout = 5\n";
        let err = Config::from_sources(Some((Path::new("x.toml"), text)), no_env).unwrap_err();
        assert!(err.to_string().contains("idle_timeout"), "{err}");
    }

    #[test]
    fn malformed_env_values_name_the_variable() {
        let env = |name: &str| (name == "IDLE_TIMEOUT_SECS").then(|| "soon".to_string());
        let err = Config::from_sources(None, env).unwrap_err();
        assert!(err.to_string().contains("IDLE_TIMEOUT_SECS"), "{err}");
    }

    #[test]
    fn production_defaults_to_a_secure_cookie() {
        let env = |name: &str| (name == "LEPTOS_ENV").then(|| "PROD".to_string());
        assert!(Config::from_sources(None, env).unwrap().cookie_secure);
    }
}
