//! Who is signed in, as the pages see it: one `me()` resource per navigation, shared through
//! context. The only UI module besides the pages that asks the server for data.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::{api::sign_in::me, error::AppError, model::CurrentUser};

/// The signed-in user (or `None`), re-read from the server on every navigation so a session
/// ended elsewhere is noticed at the next click.
#[derive(Clone, Copy)]
pub struct CurrentUserResource(pub Resource<Result<Option<CurrentUser>, AppError>>);

/// Creates the resource and provides it as context; call once, inside the router.
pub fn provide_current_user() -> CurrentUserResource {
    let location = use_location();
    let resource = Resource::new(move || (location.pathname.get(), location.search.get()), |_| me());
    let user = CurrentUserResource(resource);
    provide_context(user);
    user
}

/// The resource provided by [`provide_current_user`].
pub fn use_current_user() -> CurrentUserResource {
    expect_context::<CurrentUserResource>()
}
