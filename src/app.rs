//! The HTML shell, the root component and the one route table.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::{
    layout::Layout,
    pages::{
        activity::ActivityPage, home::HomePage, login::LoginPage, not_found::NotFound, register::RegisterPage, security::SecurityPage,
    },
};

/// The document around every server-rendered page, with the stylesheet and the hydration
/// scripts (both under their hashed names when the build hashed them).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: layout and the one route table, whose paths are those of
/// [`routes`](crate::routes) (checked by a test, because `path!` takes only literals). Pages render in `Async` mode: the server waits for
/// their data and sends finished HTML, so nothing shifts when the page hydrates.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| format!("{page} · sessionguard")/>
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/security") view=SecurityPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/activity") view=ActivityPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::App;
    use crate::routes;

    #[tokio::test]
    async fn the_route_table_serves_every_path_constant_and_no_other() {
        let mut served: Vec<String> = leptos_axum::generate_route_list(App).iter().map(|r| r.path().to_owned()).collect();
        served.sort();
        let mut expected: Vec<String> = routes::ALL.iter().map(|p| (*p).to_owned()).collect();
        expected.sort();
        assert_eq!(served, expected);
    }
}
