//! The operator's command line: the same binary and configuration as the server.
//!
//! Exit codes: 0 done; 1 the command failed (an unknown email names it on stderr); 2 bad usage
//! (the usage text follows); 3 the database is down, refused or did not confirm: run it again.

use std::process::ExitCode;

use serde_json::json;

use crate::{
    admin::{Admin, AdminError},
    api::sessions::session_row,
    config::Config,
    db::{self, DbError, ensure_indexes},
    format::utc_minute,
    validation::normalize_email,
};

/// Every command, as `sessionguard --help` prints it.
pub const USAGE: &str = "\
usage: sessionguard [COMMAND]

  serve                                  serve the application (the default)
  create-user EMAIL                      create an account; the password is the first line of stdin
  sessions list EMAIL [--json]           the account's live sessions, newest first
  sessions end EMAIL [--handle HANDLE]   end one session, or every session of the account
  users disable EMAIL                    end every session and refuse sign-in (403 AccountDisabled)
  users enable EMAIL                     let the account sign in again
  --help                                 this text

Configuration as for the server: Leptos.toml and the environment (MONGODB_URI, MONGODB_DB, ...).
Exit codes: 0 done, 1 failed (e.g. unknown email), 2 bad usage, 3 database unavailable.";

/// An operator's command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve the application.
    Serve,
    /// Print the usage.
    Help,
    /// Create an account, the password read from stdin.
    CreateUser {
        /// The account's email.
        email: String,
    },
    /// List an account's live sessions.
    ListSessions {
        /// The account's email.
        email: String,
        /// Print JSON instead of a table.
        json: bool,
    },
    /// End one session of an account, or all of them.
    EndSessions {
        /// The account's email.
        email: String,
        /// The session to end; `None` ends every one.
        handle: Option<String>,
    },
    /// Disable (`true`) or enable an account.
    SetDisabled {
        /// The account's email.
        email: String,
        /// Whether to disable.
        disabled: bool,
    },
}

/// Why a command failed, and the exit code that says so.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments do not form a command (exit 2).
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    /// The database is down or did not confirm (exit 3).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// The process's exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Failed(_) => 1,
            Self::Usage(_) => 2,
            Self::Unavailable(_) => 3,
        })
    }
}

impl From<AdminError> for CliError {
    fn from(err: AdminError) -> Self {
        match err {
            AdminError::Db(db) => db.into(),
            err @ AdminError::DisabledNotEnded { .. } => Self::Unavailable(err.to_string()),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// Every database failure is exit 3: a command's writes may or may not have happened, and only
/// running it again confirms them (an ending is never reported done when it was not confirmed).
impl From<DbError> for CliError {
    fn from(err: DbError) -> Self {
        Self::Unavailable(format!("{err}; nothing is confirmed: run the command again once MongoDB answers"))
    }
}

impl Command {
    /// Parses the arguments after the program name.
    ///
    /// # Errors
    /// [`CliError::Usage`] naming what is wrong.
    pub fn parse(args: &[String]) -> Result<Self, CliError> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Ok(match args.as_slice() {
            [] | ["serve"] => Self::Serve,
            ["--help" | "-h" | "help"] => Self::Help,
            ["create-user", address] => Self::CreateUser { email: (*address).to_owned() },
            ["sessions", "list", address] => Self::ListSessions { email: (*address).to_owned(), json: false },
            ["sessions", "list", address, "--json"] | ["sessions", "list", "--json", address] => {
                Self::ListSessions { email: (*address).to_owned(), json: true }
            }
            ["sessions", "end", address] => Self::EndSessions { email: (*address).to_owned(), handle: None },
            ["sessions", "end", address, "--handle", handle] => {
                Self::EndSessions { email: (*address).to_owned(), handle: Some((*handle).to_owned()) }
            }
            ["users", "disable", address] => Self::SetDisabled { email: (*address).to_owned(), disabled: true },
            ["users", "enable", address] => Self::SetDisabled { email: (*address).to_owned(), disabled: false },
            _ => return Err(CliError::Usage(format!("unknown command: {}", args.join(" ")))),
        })
    }
}

/// Connects as the server does and returns the operator's tools.
async fn admin() -> Result<Admin, CliError> {
    let config = Config::load().map_err(|e| CliError::Failed(e.to_string()))?;
    let db = db::connect(&config).await.map_err(|e| CliError::Unavailable(e.to_string()))?;
    ensure_indexes(&db).await?;
    Ok(Admin::new(&db, &config))
}

/// Runs one of the operator's commands (not `serve`, `help` or `create-user`), printing its
/// result on stdout.
///
/// # Errors
/// [`CliError`], whose [`exit_code`](CliError::exit_code) the process should end with.
pub async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::ListSessions { email, json } => {
            let (user, sessions) = admin().await?.sessions(&email).await?;
            let rows: Vec<_> = sessions.into_iter().map(|session| session_row(session, None)).collect();
            if json {
                println!("{}", json!({ "sessions": rows }));
            } else if rows.is_empty() {
                println!("{} has no live sessions", user.email);
            } else {
                println!("{:<24}  {:<20}  {:<20}  {:<39}  DEVICE", "HANDLE", "SIGNED IN", "LAST SEEN", "ADDRESS");
                for row in rows {
                    let (signed_in, last_seen) = (utc_minute(row.signed_in_ms), utc_minute(row.last_active_ms));
                    println!("{:<24}  {signed_in:<20}  {last_seen:<20}  {:<39}  {}", row.handle, row.ip, row.device);
                }
            }
        }
        Command::EndSessions { email, handle } => {
            let ended = admin().await?.end_sessions(&email, handle.as_deref()).await?;
            println!("ended {ended} session{} of {}", if ended == 1 { "" } else { "s" }, normalize_email(&email));
        }
        Command::SetDisabled { email, disabled: true } => {
            let ended = admin().await?.disable(&email).await?;
            println!("disabled {}; ended {ended} session{}", normalize_email(&email), if ended == 1 { "" } else { "s" });
        }
        Command::SetDisabled { email, disabled: false } => {
            admin().await?.enable(&email).await?;
            println!("enabled {}", normalize_email(&email));
        }
        Command::Serve | Command::Help | Command::CreateUser { .. } => {
            return Err(CliError::Failed("the server, help and create-user are run by main".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, CliError> {
        Command::parse(&line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
    }

    #[test]
    fn every_command_parses_and_anything_else_is_usage() {
        assert_eq!(parse("").unwrap(), Command::Serve);
        assert_eq!(parse("sessions list a@x.io --json").unwrap(), Command::ListSessions { email: "a@x.io".into(), json: true });
        assert_eq!(
            parse("sessions end a@x.io --handle 0a1b").unwrap(),
            Command::EndSessions { email: "a@x.io".into(), handle: Some("0a1b".into()) }
        );
        assert_eq!(parse("users disable a@x.io").unwrap(), Command::SetDisabled { email: "a@x.io".into(), disabled: true });
        for bad in ["sessions", "sessions end", "users delete a@x.io", "sessions end a@x.io --handle", "frobnicate"] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, CliError::Usage(_)), "{bad}");
            assert!(err.to_string().contains("usage: sessionguard"), "the usage text follows the problem");
        }
    }
}
