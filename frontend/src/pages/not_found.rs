//! The page for unknown URLs.

use crate::routes::AppRoute;
use leptos::prelude::*;
use leptos_router::components::A;

/// "No such page", with a way back.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="panel" data-testid="not-found">
            <h1>"Page not found"</h1>
            <p><A href=AppRoute::Images.path()>"Back to the image list"</A></p>
        </section>
    }
}
