//! Small line icons for the kind of device a session runs on.

use leptos::prelude::*;

/// A phone outline when `mobile`, a laptop outline otherwise; decorative (hidden from screen
/// readers, which read the device summary next to it).
#[component]
pub fn DeviceIcon(mobile: bool) -> impl IntoView {
    let path = if mobile {
        "M8 2h8a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm3 17h2"
    } else {
        "M4 5h16a1 1 0 0 1 1 1v10H3V6a1 1 0 0 1 1-1Zm-3 13h22v1a1 1 0 0 1-1 1H2a1 1 0 0 1-1-1Z"
    };
    view! {
        <svg class="device-icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.6"
            stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
            <path d=path/>
        </svg>
    }
}
