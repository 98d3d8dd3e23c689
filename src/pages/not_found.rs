//! The page for any path that is not a route.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::session_ended_alert;
use crate::{components::notice_banner::NoticeBanner, routes};

/// "Page not found", answered with status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <section class="card narrow">
            <h1>"Page not found"</h1>
            <NoticeBanner alert=session_ended_alert()/>
            <p>"There is nothing at this address."</p>
            <A href=routes::HOME attr:class="button">"Go to the home page"</A>
        </section>
    }
}
