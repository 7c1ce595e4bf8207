//! "Compare with…" on an image page: pick another local image and open the compare page
//! with this image as the baseline.

use crate::api::{self, ListFilters};
use crate::routes::AppRoute;
use crate::view_model::display_name;
use app::api::Digest;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// A picker of the other images; choosing one opens `/compare?ids=<this>,<other>`.
#[component]
pub fn CompareWith(image_id: Digest) -> impl IntoView {
    let list = LocalResource::new(|| async { api::list_images(&ListFilters::default()).await });
    let navigate = use_navigate();
    let this = image_id.clone();
    move || {
        let Some(Ok(data)) = list.get() else {
            return ().into_any();
        };
        let others: Vec<(Digest, String)> = data
            .images
            .iter()
            .filter(|i| i.id != this)
            .map(|i| (i.id.clone(), display_name(i)))
            .collect();
        if others.is_empty() {
            return ().into_any();
        }
        let navigate = navigate.clone();
        let base = this.clone();
        let options = others
            .into_iter()
            .map(|(id, name)| view! { <option value=id.to_string()>{name}</option> })
            .collect_view();
        view! {
            <label class="compare-with">
                "Compare with "
                <select data-testid="compare-with" on:change=move |ev| {
                    if let Ok(other) = Digest::parse(&event_target_value(&ev)) {
                        navigate(&AppRoute::Compare { ids: vec![base.clone(), other] }.path(), Default::default());
                    }
                }>
                    <option value="" selected=true>"choose an image…"</option>
                    {options}
                </select>
            </label>
        }
        .into_any()
    }
}
