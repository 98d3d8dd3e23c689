//! An email address in running text, kept readable on a narrow screen.

use leptos::prelude::*;

/// `email` as text that breaks, when the line is too short for all of it, only before the `@`
/// (styled by `.email` in `main.css`): never after a hyphen or in the middle of a name, where
/// the break would read as part of the address.
#[component]
pub fn EmailText(email: String) -> impl IntoView {
    let (local, domain) = split_email(&email);
    let (local, domain) = (local.to_owned(), domain.to_owned());
    view! {
        <span class="email">
            <span>{local}</span>
            <wbr/>
            <span>{domain}</span>
        </span>
    }
}

/// The part before the last `@`, and the rest from the `@` on (empty when there is none).
fn split_email(email: &str) -> (&str, &str) {
    email.rfind('@').map_or((email, ""), |at| email.split_at(at))
}

#[cfg(test)]
mod tests {
    use super::split_email;

    #[test]
    fn an_email_breaks_before_its_last_at() {
        assert_eq!(split_email("ada.lovelace-1@example.com"), ("ada.lovelace-1", "@example.com"));
        assert_eq!(split_email("\"a@b\"@example.com"), ("\"a@b\"", "@example.com"));
        assert_eq!(split_email("no-at-sign"), ("no-at-sign", ""));
    }
}
