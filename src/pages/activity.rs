//! `/account/activity`: the signed-in account's recent security events. Its own page, as
//! GitHub does it, so that the security page costs one database read for the list and no more.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};

use super::{session_ended_alert, sign_in_path};
use crate::{
    api::sessions::security_events,
    components::notice_banner::NoticeBanner,
    format::{relative_time, rfc3339, utc_minute},
    model::{EventList, SecurityEventKind},
    routes,
    session_watch::use_live_session,
};

/// The account activity page.
#[component]
pub fn ActivityPage() -> impl IntoView {
    let live = use_live_session();
    // Refetched when the live feed says the sessions changed, which every recorded event does.
    let events = Resource::new(move || live.sessions_changed.get(), |_| security_events());
    let events_section = move || {
        Suspend::new(async move {
            match events.await {
                Ok(list) => view! { <EventListView list/> }.into_any(),
                Err(error) if error.needs_sign_in() => {
                    view! { <Redirect path=sign_in_path(&error, live.was_signed_in.get_untracked(), routes::ACTIVITY)/> }.into_any()
                }
                Err(error) => view! { <p class="notice notice-error" role="alert">{error.to_string()}</p> }.into_any(),
            }
        })
    };
    view! {
        <Title text="Security activity"/>
        <h1>"Recent security activity"</h1>
        <NoticeBanner alert=session_ended_alert()/>
        <section class="card">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>{events_section}</Transition>
        </section>
        <p class="page-footer-link">
            <A href=routes::SECURITY>"← Where you are signed in"</A>
        </p>
    }
}

/// The recent security events, newest first, each older than a minute with how long ago it
/// was, measured from the server's clock.
#[component]
fn EventListView(list: EventList) -> impl IntoView {
    if list.events.is_empty() {
        return view! { <p class="muted">"Nothing yet."</p> }.into_any();
    }
    let now_ms = list.now_ms;
    let items = list
        .events
        .into_iter()
        .map(|row| {
            let detail = match row.sessions_ended {
                Some(n) if n != 1 => format!(" ({n} sessions)"),
                _ => String::new(),
            };
            view! {
                <li class="event-row">
                    <span><strong>{row.kind.label()}</strong>{detail}</span>
                    <span class="muted">
                        {who(row.kind, row.ended_device, row.device)} " · " {row.ip} " · "
                        <time datetime=rfc3339(row.at_ms) title=utc_minute(row.at_ms)>{utc_minute(row.at_ms)}</time>
                        {(now_ms - row.at_ms > 60_000).then(|| format!(" ({})", relative_time(now_ms, row.at_ms)))}
                    </span>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="event-list" data-testid="security-events">{items}</ul> }.into_any()
}

/// Who an event involved: the device that acted, and for a revoke the device it ended too
/// ("Ended Firefox on Android, from Chrome on Linux"), so the row never reads as if the acting
/// device had been revoked.
fn who(kind: SecurityEventKind, ended_device: Option<String>, device: String) -> String {
    match (kind, ended_device) {
        (SecurityEventKind::Revoke, Some(ended)) => format!("Ended {ended}, from {device}"),
        (SecurityEventKind::Revoke, None) => format!("Ended another session, from {device}"),
        _ => device,
    }
}
