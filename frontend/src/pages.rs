//! Routed pages, one per file.

mod image_list;
mod image_page;
mod layer_page;
mod not_found;

pub use image_list::ImageListPage;
pub use image_page::ImagePage;
pub use layer_page::LayerPage;
pub use not_found::NotFound;
