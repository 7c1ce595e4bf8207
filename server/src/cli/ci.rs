//! `strata ci`: dive's CI rules (defaults, then the `.dive-ci` file, then flags) evaluated
//! on dive's or Strata's figures; exit 0 on pass, 1 on a failed rule.

use super::args::{CiArgs, GlobalArgs, RuleSet};
use super::{load, report, write_output, CliError, Prepared};
use app::analysis::dive::{evaluate_ci, parse_dive_ci, DiveCiRules, RuleStatus};
use std::path::PathBuf;
use std::process::ExitCode;

pub async fn ci(global: &GlobalArgs, args: CiArgs) -> Result<ExitCode, CliError> {
    let rules = ci_rules(&args)?;
    let Prepared {
        loaded,
        base_layers,
        ..
    } = load(global, &args.source, args.platform.as_deref()).await?;
    let image = loaded.image.clone();
    let which = args.rules;
    let (figures, name) = tokio::task::spawn_blocking(move || {
        report::analyze(&image, base_layers).map(|a| {
            let name = image
                .tags
                .first()
                .cloned()
                .unwrap_or_else(|| image.id.to_string());
            (report::ci_figures(&a, which), name)
        })
    })
    .await
    .map_err(|e| CliError(format!("analysis task failed: {e}; please report this bug")))??;
    let (efficiency, wasted, user_wasted) = figures;
    let outcome = evaluate_ci(&rules, efficiency, wasted, user_wasted);
    let mut out = format!(
        "strata ci: {name} ({} figures): efficiency {:.4}, wasted {} ({wasted} bytes), user wasted {:.4}\n",
        match which {
            RuleSet::Dive => "dive",
            RuleSet::Strata => "strata",
        },
        efficiency,
        app::fmt::size(wasted),
        if user_wasted.is_finite() { user_wasted } else { 0.0 }
    );
    for r in &outcome.results {
        let status = match r.status {
            RuleStatus::Pass => "PASS",
            RuleStatus::Fail => "FAIL",
            RuleStatus::Disabled => "SKIP",
            RuleStatus::Misconfigured => "MISCONFIGURED",
        };
        if r.message.is_empty() {
            out.push_str(&format!("  {status}: {}\n", r.rule));
        } else {
            out.push_str(&format!("  {status}: {}: {}\n", r.rule, r.message));
        }
    }
    out.push_str(if outcome.pass {
        "Result: PASS\n"
    } else {
        "Result: FAIL\n"
    });
    write_output(None, out.as_bytes())?;
    Ok(if outcome.pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The rules: dive's defaults, then the `.dive-ci` file, then the flags. Invalid values
/// are reported before any image is read.
pub fn ci_rules(args: &CiArgs) -> Result<DiveCiRules, CliError> {
    let mut rules = DiveCiRules::default();
    let file = match &args.ci_config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from(".dive-ci")).filter(|p| p.is_file()),
    };
    if let Some(p) = file {
        let text = std::fs::read_to_string(&p).map_err(|e| {
            CliError(format!(
                "cannot read CI config {}: {e}; check --ci-config",
                p.display()
            ))
        })?;
        let parsed = parse_dive_ci(&text).map_err(|e| {
            CliError(format!(
                "CI config {}: {e}; fix the file (dive's .dive-ci format)",
                p.display()
            ))
        })?;
        rules = rules.with_file(&parsed);
    }
    if let Some(v) = &args.lowest_efficiency {
        rules.lowest_efficiency = v.clone();
    }
    if let Some(v) = &args.highest_wasted_bytes {
        rules.highest_wasted_bytes = v.clone();
    }
    if let Some(v) = &args.highest_user_wasted_percent {
        rules.highest_user_wasted_percent = v.clone();
    }
    let dry = evaluate_ci(&rules, 1.0, 0, 0.0);
    if let Some(bad) = dry
        .results
        .iter()
        .find(|r| r.status == RuleStatus::Misconfigured)
    {
        return Err(CliError(format!(
            "CI rule {}: {}; use a number (ratios 0..1, sizes like 20MB) or \"disabled\"",
            bad.rule, bad.message
        )));
    }
    Ok(rules)
}
