//! The frame around every page: header with navigation, main content, footer.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    api::sign_in::Logout,
    components::sign_in_alert::SignInAlerts,
    current_user::provide_current_user,
    model::EndReason,
    routes,
    session_watch::{LiveSession, SessionWatch, own_ending},
};

/// Header, navigation and footer around `children`. Provides the current-user resource and the
/// live session state, watches the session while signed in, and holds the header's logout action.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let user = provide_current_user();
    let live = LiveSession::provide();
    let logout = ServerAction::<Logout>::new();
    own_ending(live, logout.pending(), move || matches!(logout.value().get(), Some(Ok(()))), EndReason::LoggedOutInAnotherTab);
    let account_links = move || {
        Suspend::new(async move {
            match user.0.await {
                Ok(Some(me)) => view! {
                    <li><A href=routes::SECURITY>"Security"</A></li>
                    // Truncated to fit the header on a phone; the title holds the whole address.
                    <li class="nav-user" data-testid="signed-in-as" title=me.email.clone()>{me.email.clone()}</li>
                    <li>
                        <ActionForm action=logout>
                            <button type="submit" class="button button-small button-secondary">"Log out"</button>
                        </ActionForm>
                    </li>
                }
                .into_any(),
                _ => view! {
                    <li><A href=routes::LOGIN>"Sign in"</A></li>
                    <li><A href=routes::REGISTER attr:class="button button-small">"Create account"</A></li>
                }
                .into_any(),
            }
        })
    };
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="container header-inner">
                <A href=routes::HOME attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    <span class="brand-name">"sessionguard"</span>
                </A>
                <nav aria-label="Main">
                    <ul class="nav-list">
                        <li class="nav-home"><A href=routes::HOME>"Home"</A></li>
                        <Transition>{account_links}</Transition>
                    </ul>
                </nav>
            </div>
        </header>
        <main id="main" class="container main">
            <SessionWatch/>
            <SignInAlerts/>
            {children()}
        </main>
        <footer class="site-footer">
            <div class="container">
                <p>"sessionguard — sign-out that is real. Sessions live in MongoDB and end the moment you end them."</p>
            </div>
        </footer>
    }
}
