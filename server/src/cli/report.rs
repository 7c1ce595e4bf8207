//! What `strata analyze` prints and what `strata ci` measures: the loaded image is
//! stacked (`app::filetree`) and analysed (`app::analysis`) once, then rendered as
//! Strata's text report, Strata's JSON document, or dive's `--json` document.

use super::{CliError, Format, RuleSet};
use app::analysis::dive::{self, DiveAnalysis};
use app::analysis::{self, Analysis, AnalysisOptions};
use app::filetree::StackedTree;
use app::model::Image;
use serde::Serialize;

/// Everything computed about one image.
pub struct Analyzed {
    pub strata: Analysis,
    pub dive: DiveAnalysis,
}

/// Stacks and analyses `image`; layers `0..base_layers` are the base (default 1).
pub fn analyze(image: &Image, base_layers: Option<u32>) -> Result<Analyzed, CliError> {
    let tree = StackedTree::from_layers(image.layers.iter().cloned()).map_err(|e| {
        CliError(format!(
            "image {}: {e}; the image is too large to analyse",
            image.id
        ))
    })?;
    let opts = AnalysisOptions {
        base_layers: base_layers.unwrap_or(1),
        ..AnalysisOptions::default()
    };
    let strata = analysis::analyze(&tree, &opts);
    let dive = dive::analyze(&image.layers);
    Ok(Analyzed { strata, dive })
}

/// Renders the report in `format`. `members` are the archive member names of the layers
/// (for dive's layer IDs), when the image came from an archive that lists them.
pub fn render(
    image: &Image,
    format: Format,
    members: Option<Vec<String>>,
    base_layers: Option<u32>,
) -> Result<Vec<u8>, CliError> {
    match format {
        Format::DiveJson => {
            let names = members
                .filter(|m| m.len() == image.layers.len())
                .unwrap_or_else(|| {
                    image
                        .layers
                        .iter()
                        .map(|l| format!("{}/layer.tar", l.diff_id.hex()))
                        .collect()
                });
            let metas = dive::layer_metas(&image.config, &names);
            let (doc, _) = dive::export(&image.layers, &metas);
            dive::to_json(&doc).map_err(|e| CliError(format!("cannot encode the dive json: {e}")))
        }
        Format::Text => {
            let a = analyze(image, base_layers)?;
            let mut out = format!(
                "Image {}\nTags  {}\n",
                image.id,
                if image.tags.is_empty() {
                    "<none>".to_owned()
                } else {
                    image.tags.join(", ")
                }
            );
            out.push_str(&analysis::render_text(&a.strata, &a.dive, &commands(image)));
            Ok(out.into_bytes())
        }
        Format::Json => {
            let a = analyze(image, base_layers)?;
            let doc = JsonReport {
                id: image.id.as_str(),
                tags: &image.tags,
                repo_digests: &image.repo_digests,
                os: &image.config.os,
                architecture: &image.config.architecture,
                variant: image.config.variant.as_deref(),
                created: image.config.created.as_deref(),
                commands: commands(image),
                analysis: &a.strata,
                dive: DiveFigures::from(&a.dive),
            };
            let mut out = serde_json::to_vec_pretty(&doc)
                .map_err(|e| CliError(format!("cannot encode the report as json: {e}")))?;
            out.push(b'\n');
            Ok(out)
        }
    }
}

/// The history command of each layer, aligned by skipping empty-layer steps.
fn commands(image: &Image) -> Vec<Option<String>> {
    image
        .config
        .layer_history()
        .into_iter()
        .map(|h| {
            h.and_then(|i| image.config.history.get(i))
                .and_then(|h| h.created_by.clone())
        })
        .collect()
}

/// The figures the CI rules test: (efficiency, wasted bytes, wasted share of user bytes).
pub fn ci_figures(a: &Analyzed, rules: RuleSet) -> (f64, u64, f64) {
    match rules {
        RuleSet::Dive => (
            a.dive.efficiency,
            a.dive.wasted_bytes,
            a.dive.wasted_user_percent,
        ),
        RuleSet::Strata => {
            let s = &a.strata.split;
            let user = if s.user_bytes == 0 {
                0.0
            } else {
                s.user_wasted as f64 / s.user_bytes as f64
            };
            (a.strata.efficiency, a.strata.reclaimable_bytes, user)
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    id: &'a str,
    tags: &'a [String],
    repo_digests: &'a [String],
    os: &'a str,
    architecture: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<&'a str>,
    /// History command per layer.
    commands: Vec<Option<String>>,
    #[serde(flatten)]
    analysis: &'a Analysis,
    dive: DiveFigures,
}

/// dive's headline figures (a non-finite percentage, as dive computes for an image
/// without user bytes, is `null`).
#[derive(Serialize)]
struct DiveFigures {
    efficiency: f64,
    wasted_bytes: u64,
    wasted_user_percent: Option<f64>,
    size_bytes: u64,
    user_size_bytes: u64,
}

impl From<&DiveAnalysis> for DiveFigures {
    fn from(d: &DiveAnalysis) -> Self {
        DiveFigures {
            efficiency: d.efficiency,
            wasted_bytes: d.wasted_bytes,
            wasted_user_percent: d
                .wasted_user_percent
                .is_finite()
                .then_some(d.wasted_user_percent),
            size_bytes: d.size_bytes,
            user_size_bytes: d.user_size_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Golden snapshots (insta) of what `strata analyze` prints in each format, for an
    //! image built in memory. Review a changed `.snap` by reading it before accepting it.
    use super::*;
    use app::limits::Limits;
    use app::testkit::{ImageBuilder, LayerBuilder};

    fn image() -> Image {
        let fill = |n: usize, b: u8| vec![b; n];
        let tar = ImageBuilder::new()
            .tag("example/app:1.0")
            .layer(
                "/bin/sh -c #(nop) ADD file:base in / ",
                &LayerBuilder::new()
                    .dir("bin")
                    .file("bin/sh", fill(9_000, b's'))
                    .dir("etc")
                    .file("etc/os-release", fill(120, b'o')),
            )
            .layer(
                "/bin/sh -c apt-get update && apt-get install -y curl",
                &LayerBuilder::new()
                    .dir("usr/bin")
                    .file("usr/bin/curl", fill(15_000, b'u'))
                    .dir("var/lib/apt/lists")
                    .file("var/lib/apt/lists/main_Packages", fill(20_000, b'p')),
            )
            .layer(
                "COPY app /app # buildkit",
                &LayerBuilder::new()
                    .dir("app")
                    .file("app/server", fill(30_000, b'a'))
                    .file("app/logo.png", fill(4_000, b'g'))
                    .file("app/logo@1x.png", fill(4_000, b'g')),
            )
            .layer(
                "/bin/sh -c chmod 755 /app/server && rm -rf /var/lib/apt/lists",
                &LayerBuilder::new()
                    .file_with("app/server", fill(30_000, b'a'), 0o755, 0, 0)
                    .whiteout("var/lib/apt/lists"),
            )
            .empty_step("/bin/sh -c #(nop)  CMD [\"/app/server\"]")
            .cmd(&["/app/server"])
            .docker_save();
        let archive =
            app::archive::read_archive(&tar[..], &Limits::default(), &mut |_| {}).expect("archive");
        archive.select(None, None).expect("image")
    }

    fn rendered(format: Format) -> String {
        String::from_utf8(render(&image(), format, None, None).expect("render")).expect("utf-8")
    }

    #[test]
    fn text_report() {
        insta::assert_snapshot!(rendered(Format::Text));
    }

    #[test]
    fn json_report() {
        insta::assert_snapshot!(rendered(Format::Json));
    }

    #[test]
    fn dive_json() {
        insta::assert_snapshot!(rendered(Format::DiveJson));
    }
}
