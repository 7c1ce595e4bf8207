//! What `strata analyze` prints and what `strata ci` measures, computed from a loaded
//! image.

use super::{CiFigures, CliError, Format, RuleSet};
use app::model::Image;
use serde::Serialize;

/// Renders the report for `image` in `format`.
pub fn render(image: &Image, format: Format) -> Result<String, CliError> {
    match format {
        Format::Text => Ok(text(image)),
        Format::Json => json(&summary(image)),
        Format::DiveJson => Err(CliError(
            "dive-json output needs the analysis module, which this build lacks; use --format json"
                .into(),
        )),
    }
}

/// The figures the CI rules test.
pub fn ci_figures(_image: &Image, _rules: RuleSet) -> Result<CiFigures, CliError> {
    Err(CliError(
        "ci needs the analysis module, which this build lacks; use strata analyze".into(),
    ))
}

#[derive(Serialize)]
struct Summary<'a> {
    id: &'a str,
    tags: &'a [String],
    os: &'a str,
    architecture: &'a str,
    size: u64,
    layers: Vec<LayerSummary>,
}

#[derive(Serialize)]
struct LayerSummary {
    index: usize,
    diff_id: String,
    size: u64,
    tar_size: u64,
    entries: usize,
    created_by: Option<String>,
}

fn summary(image: &Image) -> Summary<'_> {
    let history = image.config.layer_history();
    let layers: Vec<LayerSummary> = image
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| LayerSummary {
            index: i,
            diff_id: l.diff_id.to_string(),
            size: l.content_size(),
            tar_size: l.tar_size,
            entries: l.entries.len(),
            created_by: history
                .get(i)
                .copied()
                .flatten()
                .and_then(|h| image.config.history.get(h))
                .and_then(|h| h.created_by.clone()),
        })
        .collect();
    Summary {
        id: image.id.as_str(),
        tags: &image.tags,
        os: &image.config.os,
        architecture: &image.config.architecture,
        size: layers.iter().map(|l| l.size).sum(),
        layers,
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| CliError(format!("cannot encode the report as json: {e}")))
}

fn text(image: &Image) -> String {
    let s = summary(image);
    let mut out = format!(
        "image {}\ntags: {}\nplatform: {}/{}\nsize: {}\nlayers: {}\n",
        s.id,
        if s.tags.is_empty() {
            "<none>".to_owned()
        } else {
            s.tags.join(", ")
        },
        s.os,
        s.architecture,
        app::fmt::size(s.size),
        s.layers.len()
    );
    for l in &s.layers {
        out.push_str(&format!(
            "  {:>3}  {:>10}  {:>7} entries  {}  {}\n",
            l.index,
            app::fmt::size(l.size),
            l.entries,
            &l.diff_id[7..19],
            l.created_by.as_deref().unwrap_or("")
        ));
    }
    out
}
