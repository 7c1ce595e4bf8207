//! `strata sharing`: the sharing map of every image `docker image ls` shows, from the
//! daemon's list, inspect and history answers ([`crate::source::sharing::daemon_inputs`]),
//! rendered as text (with the pairs that share most) or JSON.

use super::args::{GlobalArgs, SharingArgs, SharingFormat};
use super::{write_output, CliError};
use crate::source::docker::{DockerClient, DockerError};
use crate::source::sharing::daemon_inputs;
use app::compare::SharingMap;
use std::io::Write;
use std::process::ExitCode;

pub async fn sharing(global: &GlobalArgs, args: SharingArgs) -> Result<ExitCode, CliError> {
    let docker = DockerClient::new(global.docker_host.as_deref()).map_err(|e| {
        CliError(format!(
            "{e}; set DOCKER_HOST or --docker-host to unix:///PATH or tcp://HOST:PORT"
        ))
    })?;
    let (inputs, skipped) = daemon_inputs(&docker).await.map_err(|e| docker_error(&e))?;
    for s in &skipped {
        let _ = writeln!(std::io::stderr(), "strata: warning: {s}");
    }
    let map = app::compare::sharing_map(&inputs)
        .map_err(|e| CliError(format!("{e}; please report this bug")))?;
    let text = match args.format {
        SharingFormat::Text => {
            let mut s = app::compare::render_sharing_text(&map);
            s.push_str(&pairs_text(&map));
            s
        }
        SharingFormat::Json => {
            let mut s = serde_json::to_string_pretty(&map).map_err(|e| {
                CliError(format!(
                    "cannot render the sharing map: {e}; please report this bug"
                ))
            })?;
            s.push('\n');
            s
        }
    };
    write_output(args.output.as_deref(), text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Most image pairs listed under "shared between".
const MAX_PAIRS: usize = 20;

/// The pairs of images that share layers, most shared bytes first: the sparse form of
/// the map's matrix, which is what a reader of a long image list can take in.
fn pairs_text(map: &SharingMap) -> String {
    let name = |i: usize| {
        map.images[i]
            .tags
            .first()
            .map_or_else(|| map.images[i].id.short().to_owned(), Clone::clone)
    };
    let mut pairs: Vec<(u64, usize, usize)> = Vec::new();
    for (i, row) in map.shared_bytes.iter().enumerate() {
        for (j, &bytes) in row.iter().enumerate().skip(i + 1) {
            if bytes > 0 {
                pairs.push((bytes, i, j));
            }
        }
    }
    if pairs.is_empty() {
        return "\nNo two images share a layer.\n".to_owned();
    }
    pairs.sort_by(|a, b| b.0.cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let mut out = match pairs.len() {
        1 => "\nShared between (1 pair):\n".to_owned(),
        n => format!("\nShared between ({n} pairs):\n"),
    };
    for &(bytes, i, j) in pairs.iter().take(MAX_PAIRS) {
        let line = format!(
            "  {:>10}  {} ↔ {}\n",
            app::fmt::size(bytes),
            name(i),
            name(j)
        );
        out.push_str(&app::fmt::display_path(line.trim_end().as_bytes()));
        out.push('\n');
    }
    if pairs.len() > MAX_PAIRS {
        out.push_str(&format!("  … and {} more pairs\n", pairs.len() - MAX_PAIRS));
    }
    out
}

fn docker_error(e: &DockerError) -> CliError {
    match e {
        DockerError::Unavailable { .. } => CliError(format!(
            "{e}; start dockerd or set DOCKER_HOST / --docker-host"
        )),
        _ => CliError(format!("{e}; check the daemon's logs and retry")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::compare::SharingInput;
    use app::model::Digest;

    #[test]
    fn pairs_are_listed_by_shared_bytes() {
        let base = Digest::of(b"base");
        let img = |name: &str, top: &[u8], top_size: u64| SharingInput {
            id: Digest::of(name.as_bytes()),
            tags: vec![name.to_owned()],
            diff_ids: vec![base.clone(), Digest::of(top)],
            layer_sizes: vec![100, top_size],
        };
        let lone = SharingInput {
            id: Digest::of(b"lone"),
            tags: vec![],
            diff_ids: vec![Digest::of(b"other")],
            layer_sizes: vec![5],
        };
        let map =
            app::compare::sharing_map(&[img("a:1", b"x", 10), img("b:1", b"y", 20), lone]).unwrap();
        let text = pairs_text(&map);
        assert_eq!(
            text,
            "\nShared between (1 pair):\n       100 B  a:1 ↔ b:1\n"
        );
        let alone = app::compare::sharing_map(&[img("a:1", b"x", 10)]).unwrap();
        assert_eq!(pairs_text(&alone), "\nNo two images share a layer.\n");
    }
}
