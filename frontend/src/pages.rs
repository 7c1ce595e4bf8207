//! Routed pages, one per file.

mod compare_page;
mod image_list;
mod image_page;
mod layer_page;
mod not_found;
mod registries_page;
mod sharing_page;

pub use compare_page::ComparePage;
pub use image_list::ImageListPage;
pub use image_page::ImagePage;
pub use layer_page::LayerPage;
pub use not_found::NotFound;
pub use registries_page::RegistriesPage;
pub use sharing_page::SharingPage;
