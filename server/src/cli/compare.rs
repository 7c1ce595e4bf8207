//! `strata compare`: loads 2–4 images concurrently through one engine (so equal layers
//! are read once), compares them with [`app::compare`], optionally diffs two chosen
//! layers, renders text, JSON or Markdown, and applies the `--fail-if-larger` CI gate
//! (exit 1, with the reason on stderr).
//!
//! Every argument is validated before any image is read; `--layers` indices are checked
//! against the loaded images before any stacking.

mod render;

use super::args::{CompareArgs, GlobalArgs, LayerRef};
use super::{engine, load_error, source_hint, write_output, CliError};
use crate::engine::{EngineError, LoadOptions, Loaded};
use crate::progress::{NoProgress, ProgressSink, TerminalBar};
use crate::source::Source;
use app::archive::Platform;
use app::compare::{CompareOptions, Comparison, FileDiff, SizeCheck};
use app::model::Image;
use futures_util::future::try_join_all;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What one `strata compare` run computed.
pub(crate) struct Outcome {
    pub comparison: Comparison,
    /// The `--layers` diff, when asked for.
    pub layer_diff: Option<FileDiff>,
    /// The `--fail-if-larger` result, when asked for.
    pub check: Option<SizeCheck>,
}

pub async fn compare(global: &GlobalArgs, args: CompareArgs) -> Result<ExitCode, CliError> {
    let sources = args
        .sources
        .iter()
        .map(|s| Source::parse(s).map_err(|e| CliError(format!("{e}; {}", source_hint()))))
        .collect::<Result<Vec<_>, _>>()?;
    let platform = args
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()
        .map_err(|e| {
            CliError(format!(
                "{e}; pass --platform like linux/amd64 or linux/arm64/v8"
            ))
        })?;
    let layers = match args.layers.as_deref() {
        None => None,
        Some([a, b]) => Some((*a, *b)),
        Some(_) => {
            return Err(CliError(
                "--layers takes two IMAGE:LAYER values; e.g. --layers A:2 B:3".to_owned(),
            ))
        }
    };
    if let Some((a, b)) = layers {
        for r in [a, b] {
            if r.image >= sources.len() {
                return Err(CliError(format!(
                    "--layers {}:{}: only {} images given; use a label from A to {}",
                    label(r.image),
                    r.layer,
                    sources.len(),
                    label(sources.len() - 1)
                )));
            }
        }
    }
    let loaded = load_all(global, &sources, platform).await?;
    let images: Vec<Arc<Image>> = loaded.iter().map(|l| l.image.clone()).collect();
    if let Some((a, b)) = layers {
        check_layer(&images, a)?;
        check_layer(&images, b)?;
    }
    let pct = args.fail_if_larger;
    let outcome = tokio::task::spawn_blocking(move || run(&images, layers, pct))
        .await
        .map_err(|e| CliError(format!("compare task failed: {e}; please report this bug")))??;
    let text = render::render(&outcome, args.format).map_err(|e| {
        CliError(format!(
            "cannot render the comparison: {e}; please report this bug"
        ))
    })?;
    write_output(args.output.as_deref(), text.as_bytes())?;
    let Some(check) = &outcome.check else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut err = std::io::stderr().lock();
    for line in &check.lines {
        let _ = writeln!(err, "strata: size check: {line}");
    }
    if check.failed {
        let _ = writeln!(
            err,
            "strata: size check failed: an image grew more than {:.1}% over the baseline",
            check.limit_pct
        );
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// Compares, diffs the chosen layers and evaluates the size gate (CPU-bound).
fn run(
    images: &[Arc<Image>],
    layers: Option<(LayerRef, LayerRef)>,
    fail_if_larger: Option<f64>,
) -> Result<Outcome, CliError> {
    let refs: Vec<&Image> = images.iter().map(Arc::as_ref).collect();
    let opts = CompareOptions::default();
    let comparison = app::compare::compare(&refs, &opts).map_err(|e| {
        CliError(format!(
            "{e}; the image data is unusable; re-create the archive or re-pull the image"
        ))
    })?;
    let layer_diff = layers
        .map(|(a, b)| diff_layers(&refs, a, b, &opts))
        .transpose()?;
    let check = fail_if_larger.map(|pct| app::compare::fail_if_larger(&comparison, pct));
    Ok(Outcome {
        comparison,
        layer_diff,
        check,
    })
}

/// Diffs image `a.image` as of layer `a.layer` against `b.image` as of `b.layer`.
fn diff_layers(
    images: &[&Image],
    a: LayerRef,
    b: LayerRef,
    opts: &CompareOptions,
) -> Result<FileDiff, CliError> {
    let stack = |i: usize| {
        app::compare::stack(images[i]).map_err(|e| {
            CliError(format!(
                "{e}; the image data is unusable; re-create the archive or re-pull the image"
            ))
        })
    };
    let ta = stack(a.image)?;
    let tb = if b.image == a.image {
        None
    } else {
        Some(stack(b.image)?)
    };
    let mut diff = app::compare::diff_trees(
        &ta,
        a.layer,
        tb.as_ref().unwrap_or(&ta),
        b.layer,
        &opts.diff,
    )
    .map_err(|e| CliError(format!("{e}; pick layers the images have")))?;
    diff.a.label = label(a.image);
    diff.b.label = label(b.image);
    Ok(diff)
}

fn check_layer(images: &[Arc<Image>], r: LayerRef) -> Result<(), CliError> {
    let count = images[r.image].layers.len();
    if (r.layer as usize) < count {
        return Ok(());
    }
    Err(CliError(format!(
        "--layers {}:{}: image {} has {count} layers; use a layer index from 0 to {}",
        label(r.image),
        r.layer,
        label(r.image),
        count.saturating_sub(1)
    )))
}

/// `A`, `B`, ... as the comparison labels images.
fn label(i: usize) -> String {
    char::from(b'A' + (i % 26) as u8).to_string()
}

/// Loads every source concurrently through one engine, with one progress line for all
/// of them on a terminal; the first failure cancels the others.
async fn load_all(
    global: &GlobalArgs,
    sources: &[Source],
    platform: Option<Platform>,
) -> Result<Vec<Loaded>, CliError> {
    let engine = engine(global);
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| TerminalBar::new((0..sources.len()).map(label).collect()));
    let cancel = CancellationToken::new();
    let options = LoadOptions { platform };
    let loads = sources.iter().enumerate().map(|(i, source)| {
        let sink: Arc<dyn ProgressSink> = match &bar {
            Some(b) => Arc::new(b.slot(i)),
            None => Arc::new(NoProgress),
        };
        let (engine, options, cancel) = (&engine, &options, cancel.clone());
        async move {
            engine
                .load(source, options, sink, cancel)
                .await
                .map_err(|e| (i, e))
        }
    });
    let result = tokio::select! {
        r = try_join_all(loads) => r,
        _ = tokio::signal::ctrl_c() => Err((0, EngineError::Cancelled)),
    };
    cancel.cancel();
    if let Some(b) = &bar {
        b.clear();
    }
    let loaded = result.map_err(|(i, e)| load_error(&e, &sources[i], global))?;
    if global.verbose {
        let mut err = std::io::stderr().lock();
        for (i, l) in loaded.iter().enumerate() {
            let _ = writeln!(err, "strata: {}: {}", label(i), l.report);
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineConfig};
    use app::testkit::{ImageBuilder, LayerBuilder};

    fn base() -> ImageBuilder {
        ImageBuilder::new().layer(
            "COPY busybox",
            &LayerBuilder::new()
                .dir("bin")
                .file("bin/busybox", vec![1u8; 1000]),
        )
    }

    async fn load(dir: &std::path::Path, name: &str, image: &ImageBuilder) -> Arc<Image> {
        let path = dir.join(name);
        std::fs::write(&path, image.docker_save()).unwrap();
        let source = Source::parse(&format!("docker-archive:{}", path.display())).unwrap();
        Engine::new(EngineConfig::default())
            .load(
                &source,
                &LoadOptions::default(),
                Arc::new(NoProgress),
                CancellationToken::new(),
            )
            .await
            .unwrap()
            .image
    }

    #[tokio::test]
    async fn compares_diffs_layers_and_gates_growth() {
        let dir = tempfile::tempdir().unwrap();
        let a = load(
            dir.path(),
            "a.tar",
            &base()
                .layer(
                    "RUN build",
                    &LayerBuilder::new().file("app", vec![2u8; 100]),
                )
                .tag("app:a"),
        )
        .await;
        let b = load(
            dir.path(),
            "b.tar",
            &base()
                .layer(
                    "RUN build",
                    &LayerBuilder::new().file("app", vec![3u8; 150]),
                )
                .tag("app:b"),
        )
        .await;
        let layers = Some((
            LayerRef { image: 0, layer: 0 },
            LayerRef { image: 1, layer: 1 },
        ));
        let o = run(&[a.clone(), b.clone()], layers, Some(4.0)).unwrap();
        assert_eq!(o.comparison.images[1].content_delta.bytes, 50);
        assert_eq!(o.comparison.pairs[0].shared_prefix.layers, 1);
        let d = o.layer_diff.as_ref().unwrap();
        assert_eq!((d.a.label.as_str(), d.b.label.as_str()), ("A", "B"));
        assert_eq!((d.totals.added, d.totals.added_bytes), (1, 150));
        let check = o.check.as_ref().unwrap();
        assert!(check.failed, "{check:?}");
        assert!(
            check.lines[0].ends_with("4.5% larger than A (+50 B), limit 4.0%: fail"),
            "{check:?}"
        );

        let json = render::render(&o, super::super::CompareFormat::Json).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["layer_diff"]["totals"]["added_bytes"], 150);
        assert_eq!(v["size_check"]["failed"], true);
        let text = render::render(&o, super::super::CompareFormat::Text).unwrap();
        assert!(text.contains("Layers A layer 0 → B layer 1"), "{text}");
        assert!(text.contains("Size check (limit +4.0%): FAIL"), "{text}");
        let md = render::render(&o, super::super::CompareFormat::Markdown).unwrap();
        assert!(md.contains("#### Layers A layer 0 → B layer 1"), "{md}");
        assert!(md.contains("**Size check** (limit +4.0%): ❌ fail"), "{md}");

        let same = run(&[a.clone(), a.clone()], None, Some(0.0)).unwrap();
        assert!(!same.check.unwrap().failed);
        assert!(same.layer_diff.is_none());
        let err = check_layer(&[a, b], LayerRef { image: 1, layer: 2 }).unwrap_err();
        assert_eq!(
            err.0,
            "--layers B:2: image B has 2 layers; use a layer index from 0 to 1"
        );
    }

    #[test]
    fn labels_follow_the_comparison() {
        assert_eq!(label(0), "A");
        assert_eq!(label(3), "D");
    }
}
