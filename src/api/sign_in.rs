//! Signing in and out: register, sign in, sign out, and who is signed in.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use self::ssr::create_account;
use crate::{error::AppError, model::CurrentUser};

/// Creates an account and signs it in on this device.
///
/// # Errors
/// 400 for an invalid email or password (the message says which rule), 409 when the email is
/// taken, 503 when the database is unavailable.
#[server(endpoint = "register")]
pub async fn register(
    /// The email address to sign in with.
    email: String,
    /// The new account's password (see `validation::password_rule`).
    password: String,
) -> Result<CurrentUser, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let result = async {
        throttled(cx.state.throttle.reserve_registration(&cx.client.throttle_key()).await?)?;
        let user = create_account(&cx.state.users, &cx.state.passwords, &email, password, Some(&DeviceKey::of(&cx.client))).await?;
        // A registration is never a new device: it is the account's first.
        let handle = match cx.start_session(&user, DeviceMark::Known).await {
            Ok(handle) => handle,
            // An operator disabled the new account meanwhile: it stays, disabled, and keeps its email.
            Err(err @ AppError::AccountDisabled) => return Err(err),
            Err(err) => {
                // Undo the account too, so that trying again registers it instead of answering "taken".
                if let Err(undo) = cx.state.users.delete(&user.id).await {
                    tracing::warn!(%undo, "could not remove an account whose registration failed");
                }
                return Err(err);
            }
        };
        cx.state.events.record_sign_in(&user.id, SecurityEventKind::Registered, &cx.client, handle, false).await;
        Ok(CurrentUser { email: user.email })
    }
    .await;
    cx.keep_email_on_failure(Register::PATH, &email, result)
}

/// Signs in with email and password, on a new session id.
///
/// The same answer and about the same time for an unknown email and a wrong password.
/// Failed attempts are limited per account and per client address within a window
/// (`Config::max_failures_per_account`, `max_failures_per_ip`, `throttle_window`); over a
/// limit, attempts are refused with 429 and `Retry-After` until the window passes.
///
/// # Errors
/// 400 for an empty field, 401 for a wrong email or password, 429 when throttled, 503 when the
/// database is unavailable.
#[server(endpoint = "login")]
pub async fn login(
    /// The account's email address (case and surrounding spaces do not matter).
    email: String,
    /// The account's password.
    password: String,
) -> Result<CurrentUser, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let result = sign_in(&cx, &email, password).await;
    cx.keep_email_on_failure(Login::PATH, &email, result)
}

/// Logs this device out: the session is deleted on the server and confirmed gone, and the
/// cookie is removed. Logging out without a session succeeds and changes nothing.
///
/// # Errors
/// 503 with "We could not confirm you were signed out on the server. Please try again." when
/// the database cannot confirm; the session is then left as it was, so a retry can finish it.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    cx.log_out().await?;
    cx.redirect(routes::LOGIN, Notice::SignedOut);
    Ok(())
}

/// The signed-in user, or `None` when this request has no live session. Reads only the session
/// (which every page loads anyway); `users` only for a session older than the email in it.
///
/// # Errors
/// 503 when the database is unavailable.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    use self::ssr::*;
    let cx = RequestContext::current().await?;
    let Some(signed_in) = cx.signed_in().await? else { return Ok(None) };
    if let Some(email) = cx.session_email().await? {
        return Ok(Some(CurrentUser { email }));
    }
    let found = cx.state.users.find_by_id(&signed_in.user_id).await?;
    Ok(found.map(|account| CurrentUser { email: account.user.email }))
}

#[cfg(feature = "ssr")]
mod ssr {
    pub use leptos::server_fn::ServerFn;

    pub use crate::{
        api::{credentials::verify_counted, errors::throttled, request::RequestContext, session_lifecycle::DeviceMark},
        auth::{DeviceKey, Passwords, User, Users},
        error::{AppError, BadInput, Field},
        model::{CurrentUser, SecurityEventKind},
        notice::Notice,
        routes,
        telemetry::{self, SignInOutcome},
        validation,
    };

    /// Creates an account after checking the email and password rules, knowing `first_device`
    /// (the registering browser's); the one way accounts are made (the `register` server
    /// function and the `create-user` command both call it).
    ///
    /// # Errors
    /// [`AppError::Invalid`] naming the field and the rule broken, [`AppError::EmailTaken`]
    /// when the email already has an account, [`AppError::Busy`] when every hashing slot is
    /// taken, [`AppError::Unavailable`] when MongoDB cannot be reached.
    pub async fn create_account(
        users: &Users,
        passwords: &Passwords,
        email: &str,
        password: String,
        first_device: Option<&DeviceKey>,
    ) -> Result<User, AppError> {
        let email = validation::normalize_email(email);
        validation::validate_email(&email).map_err(|problem| AppError::Invalid { field: Field::Email, problem })?;
        validation::validate_password(&password).map_err(|problem| AppError::Invalid { field: Field::Password, problem })?;
        let hash = passwords.hash(password).await?;
        users.insert(email, &hash, first_device).await?.ok_or(AppError::EmailTaken)
    }

    /// The body of `login`, counted by outcome (`sessionguard_sign_ins_total`).
    pub async fn sign_in(cx: &RequestContext, email: &str, password: String) -> Result<CurrentUser, AppError> {
        let mut account_exists = true;
        let result = attempt(cx, email, password, &mut account_exists).await;
        telemetry::sign_in(match &result {
            Ok(_) => SignInOutcome::Ok,
            Err(AppError::WrongCredentials) if account_exists => SignInOutcome::WrongPassword,
            Err(AppError::WrongCredentials) => SignInOutcome::UnknownAccount,
            Err(AppError::Throttled { .. }) => SignInOutcome::Throttled,
            Err(AppError::Busy { .. }) => SignInOutcome::Busy,
            Err(AppError::AccountDisabled) => SignInOutcome::Disabled,
            Err(AppError::BadInput(_)) => SignInOutcome::Invalid,
            Err(_) => SignInOutcome::Unavailable,
        });
        result
    }

    /// Bounds first (nothing oversized becomes a lookup or a throttle key), then the attempt is
    /// reserved, then the password checked, then a new session. `account_exists` is cleared
    /// when no account has the email, for the operators' count alone.
    async fn attempt(cx: &RequestContext, email: &str, password: String, account_exists: &mut bool) -> Result<CurrentUser, AppError> {
        let email = validation::normalize_email(email);
        if email.is_empty() || password.is_empty() {
            return Err(AppError::BadInput(BadInput::MissingCredentials));
        }
        if email.chars().count() > validation::EMAIL_MAX_CHARS {
            return Err(AppError::BadInput(BadInput::EmailTooLong));
        }
        if password.chars().count() > validation::PASSWORD_MAX_CHARS {
            return Err(AppError::BadInput(BadInput::PasswordTooLong));
        }
        let key = cx.client.throttle_key();
        throttled(cx.state.throttle.reserve_sign_in(&email, &key).await?)?;
        let account = cx.state.users.find_by_email(&email).await?;
        let (user, hash, known_devices) = match account {
            Some(account) => (Some(account.user), Some(account.hash), account.known_devices),
            None => (None, None, None),
        };
        let matched = verify_counted(cx, &email, &key, password, hash).await?;
        let (Some(user), true) = (user.clone(), matched) else {
            // One event write on both paths: a known email must cost exactly what an unknown
            // one does, or the answer's timing tells which emails have accounts.
            match user {
                Some(user) => cx.record(&user.id, SecurityEventKind::FailedLogin, None, None).await,
                None => {
                    *account_exists = false;
                    cx.state.events.record_unknown_account_attempt(&cx.client).await;
                }
            }
            return Err(AppError::WrongCredentials);
        };
        cx.state.throttle.sign_in_succeeded(&email, &key).await?;
        if user.disabled {
            return Err(AppError::AccountDisabled);
        }
        #[cfg(feature = "test-util")]
        cx.state.after_password_check.pass().await;
        // Decided before the session exists, from the account just read. An account stored
        // before accounts kept their devices learns them from its sign-in records; a database
        // that cannot say counts the sign-in as new, so that the account's other tabs are told
        // rather than not, and leaves the learning to the next sign-in.
        let device = DeviceKey::of(&cx.client);
        let now = cx.state.clock.now();
        let (known, learned) = match known_devices {
            Some(known) => (Some(known), false),
            None => match cx.state.events.known_devices(&user.id).await {
                Ok(known) => (Some(known), true),
                Err(err) => {
                    tracing::warn!(%err, "could not tell whether a sign-in is from a new device; treating it as new");
                    (None, false)
                }
            },
        };
        let new_device = !known.as_ref().is_some_and(|known| known.knows(&device, now));
        let mark = if new_device { DeviceMark::New } else { DeviceMark::Known };
        let handle = cx.start_session(&user, mark).await?;
        // This record is the `new_sign_in` every other open tab of the account hears.
        cx.state.events.record_sign_in(&user.id, SecurityEventKind::Login, &cx.client, handle, new_device).await;
        // Like the record, a failure is logged and swallowed: the device then keeps its older
        // time, or counts as new at its next sign-in, which tells the tabs once too often at most.
        if let Some(known) = known {
            let remembered = if learned {
                cx.state.users.adopt_devices(&user.id, &known.remembering(&device, now)).await
            } else {
                cx.state.users.remember_device(&user.id, &device, &known.to_forget(&device, now)).await
            };
            if let Err(err) = remembered {
                tracing::warn!(%err, "could not remember the device of a sign-in");
            }
        }
        Ok(CurrentUser { email: user.email })
    }
}
