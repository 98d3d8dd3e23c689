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
    /// The origin browsers use to reach the site, `scheme://host[:port]` (`PUBLIC_ORIGIN`).
    /// State-changing API calls must come from exactly this origin.
    pub public_origin: String,
    /// Whether `X-Forwarded-For` names the client (`TRUST_PROXY`).
    pub trust_proxy: bool,
    /// How many proxies of ours append to `X-Forwarded-For`: the client is the entry this many
    /// places from the right (`TRUST_PROXY_HOPS`).
    pub trust_proxy_hops: usize,
    /// How many passwords may be hashed or verified at once (`HASH_CONCURRENCY`); each takes
    /// 19 MiB and one core for about a tenth of a second.
    pub hash_concurrency: usize,
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
    /// Live sessions one user may have; a sign-in beyond it ends the oldest (`MAX_SESSIONS_PER_USER`).
    pub max_sessions_per_user: u32,
    /// Failed sign-ins allowed per account from one client address per window
    /// (`LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_IP`).
    pub max_failures_per_account_and_ip: u32,
    /// Failed sign-ins allowed per account from all addresses together per window
    /// (`LOGIN_MAX_FAILURES_PER_ACCOUNT`).
    pub max_failures_per_account: u32,
    /// Failed sign-ins allowed per client address, whatever the account, per window (`LOGIN_MAX_FAILURES_PER_IP`).
    pub max_failures_per_ip: u32,
    /// Throttling window (`LOGIN_THROTTLE_WINDOW_SECS`).
    pub throttle_window: Duration,
    /// Accounts one client address may create per registration window (`REGISTER_MAX_PER_IP`).
    pub max_registrations_per_ip: u32,
    /// The registration window (`REGISTER_WINDOW_SECS`).
    pub registration_window: Duration,
    /// Live sign-out streams (open tabs) one instance serves at once (`MAX_SESSION_STREAMS`).
    pub max_session_streams: usize,
    /// Live sign-out streams (open tabs) one account may hold on one instance
    /// (`MAX_STREAMS_PER_ACCOUNT`), so that one account cannot take every stream.
    pub max_streams_per_account: usize,
    /// How long a request may wait on the database before it is answered 503
    /// (`REQUEST_TIMEOUT_SECS`): a hung database never hangs the browser.
    pub request_timeout: Duration,
    /// The address that serves Prometheus metrics at `GET /metrics` (`METRICS_ADDR`); `None`
    /// (the default) serves none. Never the public address.
    pub metrics_addr: Option<SocketAddr>,
}

impl Default for Config {
    /// The defaults, here and nowhere else: what runs when neither `Leptos.toml` nor the
    /// environment says otherwise. A `Secure` `__Host-` cookie; 30 minutes idle, 12 hours
    /// absolute, a touch at most once a minute, a sweep every 5 minutes, 100 sessions per user;
    /// within 15 minutes 5 failed sign-ins per account and address, 100 per account, 20 per
    /// address; 10 registrations per address per hour; one password hash per core at a time.
    fn default() -> Self {
        let site_addr = SocketAddr::from(([127, 0, 0, 1], 3000));
        Self {
            site_addr,
            public_origin: derived_origin(true, site_addr),
            trust_proxy: false,
            trust_proxy_hops: 1,
            hash_concurrency: std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            mongodb_uri: "mongodb://127.0.0.1:27017".into(),
            mongodb_db: "sessionguard".into(),
            server_selection_timeout: Duration::from_millis(2000),
            cookie_secure: true,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            touch_interval: Duration::from_secs(60),
            sweep_interval: Duration::from_secs(300),
            max_sessions_per_user: 100,
            max_failures_per_account_and_ip: 5,
            max_failures_per_account: 100,
            max_failures_per_ip: 20,
            throttle_window: Duration::from_secs(15 * 60),
            max_registrations_per_ip: 10,
            registration_window: Duration::from_secs(3600),
            max_session_streams: 10_000,
            max_streams_per_account: 16,
            request_timeout: Duration::from_secs(5),
            metrics_addr: None,
        }
    }
}

/// The origin a browser sees when no `PUBLIC_ORIGIN` is set: the listening address, over
/// HTTPS when the cookie is secure.
fn derived_origin(secure: bool, site_addr: SocketAddr) -> String {
    format!("{}://{site_addr}", if secure { "https" } else { "http" })
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
    public_origin: Option<String>,
    trust_proxy: Option<bool>,
    trust_proxy_hops: Option<usize>,
    hash_concurrency: Option<usize>,
    max_session_streams: Option<usize>,
    max_streams_per_account: Option<usize>,
    request_timeout_secs: Option<u64>,
    metrics_addr: Option<SocketAddr>,
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
    max_sessions_per_user: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottleSection {
    max_failures_per_account_and_ip: Option<u32>,
    max_failures_per_account: Option<u32>,
    max_failures_per_ip: Option<u32>,
    window_secs: Option<u64>,
    max_registrations_per_ip: Option<u32>,
    registration_window_secs: Option<u64>,
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
        let default = Self::default();
        let secs = |name: &'static str, from_file: Option<u64>, default: Duration| -> Result<Duration, ConfigError> {
            Ok(env.parse(name, "seconds")?.or(from_file).map_or(default, Duration::from_secs))
        };
        let count = |name: &'static str, from_file: Option<u32>, default: u32| -> Result<u32, ConfigError> {
            Ok(env.parse(name, "a whole number")?.or(from_file).unwrap_or(default))
        };
        let site_addr = env.parse("SITE_ADDR", "an address like 127.0.0.1:3000")?.or(file.server.site_addr).unwrap_or(default.site_addr);
        let cookie_secure = env.parse("COOKIE_SECURE", "true or false")?.or(file.session.cookie_secure).unwrap_or(default.cookie_secure);
        let public_origin = match env.get("PUBLIC_ORIGIN").or(file.server.public_origin) {
            Some(origin) => normalize_origin(&origin)?,
            None => derived_origin(cookie_secure, site_addr),
        };
        let config = Self {
            site_addr,
            public_origin,
            trust_proxy: env.parse("TRUST_PROXY", "true or false")?.or(file.server.trust_proxy).unwrap_or(default.trust_proxy),
            trust_proxy_hops: env
                .parse("TRUST_PROXY_HOPS", "a whole number")?
                .or(file.server.trust_proxy_hops)
                .unwrap_or(default.trust_proxy_hops),
            hash_concurrency: env
                .parse("HASH_CONCURRENCY", "a whole number")?
                .or(file.server.hash_concurrency)
                .unwrap_or(default.hash_concurrency),
            mongodb_uri: env.get("MONGODB_URI").or(file.mongodb.uri).unwrap_or(default.mongodb_uri),
            mongodb_db: env.get("MONGODB_DB").or(file.mongodb.database).unwrap_or(default.mongodb_db),
            server_selection_timeout: env
                .parse("MONGODB_TIMEOUT_MS", "milliseconds")?
                .or(file.mongodb.server_selection_timeout_ms)
                .map_or(default.server_selection_timeout, Duration::from_millis),
            cookie_secure,
            idle_timeout: secs("IDLE_TIMEOUT_SECS", file.session.idle_timeout_secs, default.idle_timeout)?,
            absolute_timeout: secs("ABSOLUTE_TIMEOUT_SECS", file.session.absolute_timeout_secs, default.absolute_timeout)?,
            touch_interval: secs("TOUCH_INTERVAL_SECS", file.session.touch_interval_secs, default.touch_interval)?,
            sweep_interval: secs("SWEEP_INTERVAL_SECS", file.session.sweep_interval_secs, default.sweep_interval)?,
            max_sessions_per_user: count("MAX_SESSIONS_PER_USER", file.session.max_sessions_per_user, default.max_sessions_per_user)?,
            max_failures_per_account_and_ip: count(
                "LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_IP",
                file.throttle.max_failures_per_account_and_ip,
                default.max_failures_per_account_and_ip,
            )?,
            max_failures_per_account: count(
                "LOGIN_MAX_FAILURES_PER_ACCOUNT",
                file.throttle.max_failures_per_account,
                default.max_failures_per_account,
            )?,
            max_failures_per_ip: count("LOGIN_MAX_FAILURES_PER_IP", file.throttle.max_failures_per_ip, default.max_failures_per_ip)?,
            throttle_window: secs("LOGIN_THROTTLE_WINDOW_SECS", file.throttle.window_secs, default.throttle_window)?,
            max_registrations_per_ip: count(
                "REGISTER_MAX_PER_IP",
                file.throttle.max_registrations_per_ip,
                default.max_registrations_per_ip,
            )?,
            registration_window: secs("REGISTER_WINDOW_SECS", file.throttle.registration_window_secs, default.registration_window)?,
            max_session_streams: env
                .parse("MAX_SESSION_STREAMS", "a whole number")?
                .or(file.server.max_session_streams)
                .unwrap_or(default.max_session_streams),
            max_streams_per_account: env
                .parse("MAX_STREAMS_PER_ACCOUNT", "a whole number")?
                .or(file.server.max_streams_per_account)
                .unwrap_or(default.max_streams_per_account),
            request_timeout: secs("REQUEST_TIMEOUT_SECS", file.server.request_timeout_secs, default.request_timeout)?,
            metrics_addr: env.parse("METRICS_ADDR", "an address like 127.0.0.1:9100")?.or(file.server.metrics_addr),
        };
        config.validate()
    }

    fn validate(self) -> Result<Self, ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
        if self.metrics_addr == Some(self.site_addr) {
            return invalid("METRICS_ADDR must differ from SITE_ADDR: metrics are for operators, never on the public address");
        }
        if self.idle_timeout.is_zero() || self.absolute_timeout.is_zero() {
            return invalid("idle and absolute timeouts (IDLE_TIMEOUT_SECS, ABSOLUTE_TIMEOUT_SECS) must be longer than zero");
        }
        if self.touch_interval >= self.idle_timeout {
            return invalid(
                "TOUCH_INTERVAL_SECS must be shorter than IDLE_TIMEOUT_SECS, or an active session would expire between touches",
            );
        }
        if self.sweep_interval.is_zero() || self.server_selection_timeout.is_zero() {
            return invalid("the sweep interval (SWEEP_INTERVAL_SECS) and MongoDB timeout (MONGODB_TIMEOUT_MS) must be longer than zero");
        }
        if self.throttle_window.is_zero() || self.registration_window.is_zero() {
            return invalid("the throttle windows (LOGIN_THROTTLE_WINDOW_SECS, REGISTER_WINDOW_SECS) must be longer than zero");
        }
        if self.request_timeout.is_zero() {
            return invalid("REQUEST_TIMEOUT_SECS must be longer than zero");
        }
        if self.hash_concurrency == 0 || self.max_sessions_per_user == 0 {
            return invalid("HASH_CONCURRENCY and MAX_SESSIONS_PER_USER must be at least 1");
        }
        if self.max_session_streams == 0 || self.max_streams_per_account == 0 {
            return invalid(
                "MAX_SESSION_STREAMS and MAX_STREAMS_PER_ACCOUNT must be at least 1, or live sign-out would be off for everyone",
            );
        }
        if self.trust_proxy && self.trust_proxy_hops == 0 {
            return invalid("TRUST_PROXY_HOPS must be at least 1 when TRUST_PROXY is on");
        }
        if self.mongodb_db.is_empty() {
            return invalid("the MongoDB database name (MONGODB_DB) is empty");
        }
        Ok(self)
    }
}

/// `scheme://host[:port]` from a configured origin, lower-cased, without a trailing slash.
///
/// # Errors
/// [`ConfigError::Env`] naming `PUBLIC_ORIGIN` when it is not an http(s) origin.
fn normalize_origin(origin: &str) -> Result<String, ConfigError> {
    let bad = || ConfigError::Env {
        name: "PUBLIC_ORIGIN",
        value: origin.to_owned(),
        expected: "an origin like https://example.com or http://127.0.0.1:3000",
    };
    let url = url::Url::parse(origin.trim()).map_err(|_| bad())?;
    let path_is_empty = matches!(url.path(), "" | "/") && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !path_is_empty || !url.username().is_empty() {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
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
            ("TRUST_PROXY_HOPS", d.trust_proxy_hops.to_string()),
            ("COOKIE_SECURE", d.cookie_secure.to_string()),
            ("MAX_SESSIONS_PER_USER", d.max_sessions_per_user.to_string()),
            ("LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_IP", d.max_failures_per_account_and_ip.to_string()),
            ("REGISTER_MAX_PER_IP", d.max_registrations_per_ip.to_string()),
            ("REGISTER_WINDOW_SECS", d.registration_window.as_secs().to_string()),
            ("MAX_SESSION_STREAMS", d.max_session_streams.to_string()),
            ("MAX_STREAMS_PER_ACCOUNT", d.max_streams_per_account.to_string()),
            ("REQUEST_TIMEOUT_SECS", d.request_timeout.as_secs().to_string()),
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
    fn the_cookie_is_secure_unless_turned_off() {
        assert!(Config::from_sources(None, no_env).unwrap().cookie_secure);
        let env = |name: &str| (name == "COOKIE_SECURE").then(|| "false".to_string());
        let config = Config::from_sources(None, env).unwrap();
        assert!(!config.cookie_secure);
        assert_eq!(config.public_origin, "http://127.0.0.1:3000", "without a secure cookie the derived origin is http");
    }

    #[test]
    fn the_public_origin_is_normalized_and_checked() {
        let env = |name: &str| (name == "PUBLIC_ORIGIN").then(|| "HTTPS://Example.COM/".to_string());
        assert_eq!(Config::from_sources(None, env).unwrap().public_origin, "https://example.com");
        for bad in ["example.com", "ftp://example.com", "https://example.com/app", "https://u:p@example.com"] {
            let env = |name: &str| (name == "PUBLIC_ORIGIN").then(|| bad.to_string());
            let err = Config::from_sources(None, env).unwrap_err();
            assert!(err.to_string().contains("PUBLIC_ORIGIN"), "{bad}: {err}");
        }
    }

    #[test]
    fn unworkable_combinations_are_refused_with_the_variable_named() {
        for (name, value, mentions) in [
            ("TOUCH_INTERVAL_SECS", "1800", "TOUCH_INTERVAL_SECS"),
            ("LOGIN_THROTTLE_WINDOW_SECS", "0", "LOGIN_THROTTLE_WINDOW_SECS"),
            ("HASH_CONCURRENCY", "0", "HASH_CONCURRENCY"),
            ("MAX_STREAMS_PER_ACCOUNT", "0", "MAX_STREAMS_PER_ACCOUNT"),
            ("MAX_SESSION_STREAMS", "0", "MAX_SESSION_STREAMS"),
        ] {
            let env = |n: &str| (n == name).then(|| value.to_string());
            let err = Config::from_sources(None, env).unwrap_err();
            assert!(err.to_string().contains(mentions), "{name}={value}: {err}");
        }
    }
}
