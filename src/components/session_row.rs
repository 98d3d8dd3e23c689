//! One row of the session list.

use leptos::prelude::*;

use crate::{
    api::sessions::RevokeSession,
    components::device_icon::DeviceIcon,
    format::{relative_time, rfc3339, utc_minute},
    model::SessionRow,
};

/// A session: device, a short mark from its handle, address, how long ago it signed in and
/// was last active, and its button: **Log out** for this device, **Revoke** for the others.
/// Two sessions of one browser read differently (their marks and times differ), and so do
/// their buttons' accessible names. Both buttons post the row's handle to `revoke_session`,
/// which treats the current handle as a logout.
#[component]
pub fn SessionRowView(row: SessionRow, now_ms: i64, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    let button_label = if row.current { "Log out" } else { "Revoke" };
    let mark = session_mark(&row.handle);
    let signed_in = relative_time(now_ms, row.signed_in_ms);
    let aria_label = if row.current {
        "Log out of this device".to_owned()
    } else {
        format!("Revoke the session on {}, signed in {signed_in}, session {mark}", row.device)
    };
    let pending = revoke.pending();
    view! {
        <li class="session-row" data-testid="session-row" data-current=row.current.to_string()>
            <DeviceIcon mobile=row.mobile/>
            <div>
                <p class="session-device">
                    <span title=row.user_agent.clone()>{row.device.clone()}</span>
                    " "
                    <span class="session-mark" title="The first characters of this session's id">{format!("#{mark}")}</span>
                    {row.current.then(|| view! { <span class="badge">"This device"</span> })}
                    {row.new_device.then(|| view! { " " <span class="badge badge-warning" title="Signed in from a device and network this account had not used in the 90 days before">"New device"</span> })}
                </p>
                <p class="session-meta">
                    {row.ip.clone()}
                    " · Signed in "
                    <time datetime=rfc3339(row.signed_in_ms) title=utc_minute(row.signed_in_ms)>{signed_in}</time>
                    " · Last active "
                    <time datetime=rfc3339(row.last_active_ms) title=utc_minute(row.last_active_ms)>
                        {relative_time(now_ms, row.last_active_ms)}
                    </time>
                </p>
            </div>
            <div class="session-action">
                <ActionForm action=revoke>
                    <input type="hidden" name="handle" value=row.handle.clone()/>
                    <button
                        type="submit"
                        class=if row.current { "button button-small button-secondary" } else { "button button-small button-danger" }
                        aria-label=aria_label
                        disabled=move || pending.get()
                    >
                        {button_label}
                    </button>
                </ActionForm>
            </div>
        </li>
    }
}

/// The first characters of a session's public handle: enough to tell two sessions of one
/// browser apart at a glance, and to say which is which aloud.
fn session_mark(handle: &str) -> String {
    handle.chars().take(4).collect()
}
