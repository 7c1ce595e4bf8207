//! Strata's UI: pages, components, the one typed API client ([`api`]) and pure
//! view-model functions ([`view_model`]). Image metadata is untrusted: it is always
//! rendered as text nodes, never as HTML.

pub mod api;
pub mod compare_model;
pub mod components;
pub mod file_model;
pub mod pages;
pub mod routes;
pub mod tree_nav;
pub mod view_model;

use components::DaemonBanner;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;
use pages::{
    ComparePage, ImageListPage, ImagePage, LayerPage, NotFound, RegistriesPage, SharingPage,
};
use routes::AppRoute;

/// The root component: top bar, daemon banner and the routed page.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="top-bar">
                <A href=AppRoute::Images.path() attr:class="brand" attr:data-testid="home-link">
                    <span class="brand-mark" aria-hidden="true"></span>
                    "Strata"
                </A>
                <span class="tagline">"Docker image explorer"</span>
                <nav class="top-nav">
                    <A href=AppRoute::Images.path() attr:data-testid="nav-images">"Images"</A>
                    <A href=AppRoute::Sharing.path() attr:data-testid="nav-sharing">"Sharing"</A>
                    <A href=AppRoute::Registries { registry: None, repository: None }.path() attr:data-testid="nav-registries">"Registries"</A>
                </nav>
            </header>
            <DaemonBanner/>
            <main class="page">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=ImageListPage/>
                    <Route path=path!("/images/:id") view=ImagePage/>
                    <Route path=path!("/images/:id/layers/:layer") view=LayerPage/>
                    <Route path=path!("/compare") view=ComparePage/>
                    <Route path=path!("/sharing") view=SharingPage/>
                    <Route path=path!("/registries") view=RegistriesPage/>
                </Routes>
            </main>
        </Router>
    }
}
