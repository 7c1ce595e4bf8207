//! Strata's UI: pages, components and the one typed API client.

use leptos::prelude::*;

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    view! { <main class="app"><h1>"Strata"</h1></main> }
}
