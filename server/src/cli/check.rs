//! `strata check SOURCE [--format text|json] [--fail-on low|medium|high]`: secrets and
//! leftovers found from the layer index and the config ([`app::findings`]), each with the
//! layer that ships it, the layer that hid it (deleted files still ship), masked evidence
//! for values and the fix; exit 0 when nothing reaches `--fail-on`, 1 when something
//! does, 2 on error.

use super::args::{CheckArgs, CheckFormat, GlobalArgs};
use super::{load, write_output, CliError};
use app::filetree::StackedTree;
use app::findings::{check_image, Finding, Severity};
use std::fmt::Write as _;
use std::process::ExitCode;

pub async fn check(global: &GlobalArgs, args: CheckArgs) -> Result<ExitCode, CliError> {
    let fail_on = Severity::parse(&args.fail_on).ok_or_else(|| {
        CliError(format!(
            "--fail-on {:?}: use low, medium or high",
            args.fail_on
        ))
    })?;
    let prepared = load(global, &args.source, args.platform.as_deref()).await?;
    let image = prepared.loaded.image.clone();
    let source = args.source.clone();
    let (findings, steps) = tokio::task::spawn_blocking(move || {
        let tree = StackedTree::from_layers(image.layers.iter().cloned())
            .map_err(|e| CliError(format!("{source}: {e}")))?;
        // The build step of each layer, to say where a finding comes from.
        let cfg = &image.config;
        let commands: Vec<String> = cfg
            .layer_history()
            .iter()
            .map(|step| {
                step.and_then(|i| cfg.history.get(i))
                    .and_then(|h| h.created_by.as_deref())
                    .map(app::findings::redact_command)
                    .unwrap_or_default()
            })
            .collect();
        Ok::<_, CliError>((check_image(&image, &tree), commands))
    })
    .await
    .map_err(|e| CliError(format!("check task failed: {e}; please report this bug")))??;
    let name = prepared
        .loaded
        .image
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| prepared.loaded.image.id.to_string());
    let out = match args.format {
        CheckFormat::Json => {
            let mut v = serde_json::to_vec_pretty(&serde_json::json!({
                "image": name,
                "findings": findings,
            }))
            .map_err(|e| CliError(format!("cannot encode the findings: {e}")))?;
            v.push(b'\n');
            v
        }
        CheckFormat::Text => text(&name, &findings, &steps).into_bytes(),
    };
    write_output(args.output.as_deref(), &out)?;
    let failing = findings.iter().any(|f| f.severity >= fail_on);
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The human report: a count line, then each finding with where it ships and the fix.
fn text(name: &str, findings: &[Finding], steps: &[String]) -> String {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let mut out = format!(
        "strata check: {name}: {} findings ({} high, {} medium, {} low)\n",
        findings.len(),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low)
    );
    for f in findings {
        let place = match f.layer {
            Some(l) => {
                let step = steps
                    .get(l as usize)
                    .filter(|c| !c.trim().is_empty())
                    .map(|c| format!(" ({})", short(c, 70)))
                    .unwrap_or_default();
                format!("layer {l}{step}")
            }
            None => "image config and history".to_owned(),
        };
        let size = if f.files > 0 {
            format!(
                ": {} file{}, {}",
                f.files,
                if f.files == 1 { "" } else { "s" },
                app::fmt::size(f.bytes)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\n{:<6} {}: {}\n       {place}{size}",
            f.severity.as_str().to_uppercase(),
            f.rule,
            f.title
        );
        if let (Some(h), Some(l)) = (f.hidden_at, f.layer) {
            let _ = writeln!(
                out,
                "       deleted or replaced in layer {h}, but still shipped in layer {l}: anyone can extract it"
            );
        }
        for p in f.paths.iter().chain(&f.evidence) {
            let _ = writeln!(out, "       {p}");
        }
        if f.files as usize > f.paths.len() {
            let _ = writeln!(
                out,
                "       … and {} more",
                f.files as usize - f.paths.len()
            );
        }
        let _ = writeln!(out, "       why: {}\n       fix: {}", f.rationale, f.fix);
    }
    out
}

fn short(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}
