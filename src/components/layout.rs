//! The frame around every page: header with navigation, main content, footer.

use leptos::prelude::*;
use leptos_router::components::A;

/// Header, navigation and footer around `children`.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="container header-inner">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    "sessionguard"
                </A>
                <nav aria-label="Main">
                    <ul class="nav-list">
                        <li><A href="/">"Home"</A></li>
                        <li><A href="/account/security">"Security"</A></li>
                        <li><A href="/login" attr:class="button button-small">"Sign in"</A></li>
                    </ul>
                </nav>
            </div>
        </header>
        <main id="main" class="container main">{children()}</main>
        <footer class="site-footer">
            <div class="container">
                <p>"sessionguard — sign-out that is real. Sessions live in MongoDB and end the moment you end them."</p>
            </div>
        </footer>
    }
}
