//! Reusable view pieces, one public component per file.

mod analysis_progress;
mod compare_layers;
mod compare_with;
mod config_diff;
mod config_view;
mod daemon_banner;
mod error_notice;
mod file_diff;
mod file_tree;
mod history_timeline;
mod largest_files;
mod layer_list;
mod size_bar;
mod tree_search;
mod treemap;
mod upload_archive;
mod wasted_panel;

pub use analysis_progress::AnalysisProgress;
pub use compare_layers::CompareLayers;
pub use compare_with::CompareWith;
pub use config_diff::ConfigDiffView;
pub use config_view::ConfigView;
pub use daemon_banner::DaemonBanner;
pub use error_notice::ErrorNotice;
pub use file_diff::FileDiffView;
pub use file_tree::FileTree;
pub use history_timeline::HistoryTimeline;
pub use largest_files::LargestFiles;
pub use layer_list::LayerList;
pub use size_bar::SizeBar;
pub use tree_search::TreeSearch;
pub use treemap::Treemap;
pub use upload_archive::UploadArchive;
pub use wasted_panel::WastedPanel;
