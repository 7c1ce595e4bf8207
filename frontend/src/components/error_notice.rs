//! An inline error box for a failed request.

use crate::api::ApiError;
use leptos::prelude::*;

/// Shows what failed; Docker-down errors get a pointer to the banner.
#[component]
pub fn ErrorNotice(
    /// What was being loaded, e.g. "the image list".
    what: &'static str,
    error: ApiError,
) -> impl IntoView {
    let text = if error.is_docker_down() {
        format!("Cannot load {what}: {error}")
    } else if error.is_not_found() {
        format!("Not found: {error}")
    } else {
        format!("Cannot load {what}: {error}")
    };
    view! {
        <div class="notice notice-error" role="alert" data-testid="error-notice">{text}</div>
    }
}
