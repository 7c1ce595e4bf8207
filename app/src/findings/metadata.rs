//! Credentials in the image's metadata, which `docker inspect` and `docker history` show
//! to anyone who pulls it: the config's `Env` and labels, the build arguments Docker
//! records in a `RUN` step's history (`|1 NPM_TOKEN=… /bin/sh -c npm ci`), and `ENV`
//! values a later step overwrote (the history still holds them). A value counts when its
//! name says it is a credential (`…PASSWORD`, `…TOKEN`, `…SECRET`, `…API_KEY`) and it is
//! not a reference (`$OTHER`, a file path), or when it looks like an AWS access key ID.
//! Evidence is masked: at most the first and last two characters of a value.

use super::{sort, Category, Finding, Severity};
use crate::model::ImageConfig;

/// Name endings that mark a credential (compared in upper case, `-` and `.` as `_`).
const SECRET_NAMES: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "SECRET_KEY",
    "PRIVATE_KEY",
    "CREDENTIALS",
];

const FIX: &str = "never put credentials in ENV, LABEL or ARG: they are recorded in the image's \
    config and history for anyone who pulls it; mount them at build time with \
    `RUN --mount=type=secret,id=…` and pass them at run time";

/// Credentials in `config`'s environment, labels and build history.
pub fn check_metadata(config: &ImageConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    let env = config.config.env.clone().unwrap_or_default();
    let env_hits: Vec<String> = env
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, v)| is_credential(k, v))
        .map(|(k, v)| format!("ENV {k}={}", mask(v)))
        .collect();
    if !env_hits.is_empty() {
        out.push(finding(
            "secret.config-env",
            Severity::High,
            "credential in the image's environment",
            "every container and everyone with the image can read its Env (`docker inspect`)",
            None,
            env_hits,
        ));
    }
    let label_hits: Vec<String> = config
        .config
        .labels
        .iter()
        .flatten()
        .filter(|(k, v)| is_credential(k, v))
        .map(|(k, v)| format!("LABEL {k}={}", mask(v)))
        .collect();
    if !label_hits.is_empty() {
        out.push(finding(
            "secret.config-label",
            Severity::High,
            "credential in a label",
            "labels are public metadata, shown by `docker inspect` and registries",
            None,
            label_hits,
        ));
    }
    let layers = config.layer_history();
    for (step, h) in config.history.iter().enumerate() {
        let Some(cmd) = h.created_by.as_deref() else {
            continue;
        };
        let layer = layers
            .iter()
            .position(|s| *s == Some(step))
            .and_then(|l| u32::try_from(l).ok());
        let args: Vec<String> = build_args(cmd)
            .into_iter()
            .filter(|(k, v)| is_credential(k, v))
            .map(|(k, v)| format!("step {step}: ARG {k}={}", mask(v)))
            .collect();
        if !args.is_empty() {
            out.push(finding(
                "secret.build-arg",
                Severity::High,
                "credential passed as a build argument",
                "Docker records the build arguments a RUN step used in the image's history",
                layer,
                args,
            ));
        }
        // An ENV value the final config no longer has is still in the history.
        let old: Vec<String> = env_assignments(cmd)
            .into_iter()
            .filter(|(k, v)| is_credential(k, v) && !env.contains(&format!("{k}={v}")))
            .map(|(k, v)| format!("step {step}: ENV {k}={}", mask(v)))
            .collect();
        if !old.is_empty() {
            out.push(finding(
                "secret.history-env",
                Severity::High,
                "credential in an overwritten ENV step",
                "a later ENV or unset does not remove the value: `docker history` still shows it",
                layer,
                old,
            ));
        }
    }
    sort(&mut out);
    out
}

fn finding(
    rule: &str,
    severity: Severity,
    title: &str,
    rationale: &str,
    layer: Option<u32>,
    evidence: Vec<String>,
) -> Finding {
    Finding {
        rule: rule.to_owned(),
        category: Category::Secret,
        severity,
        title: title.to_owned(),
        rationale: rationale.to_owned(),
        fix: FIX.to_owned(),
        layer,
        evidence,
        hidden_at: None,
        files: 0,
        bytes: 0,
        paths: Vec::new(),
    }
}

/// Whether `name=value` looks like a credential with a real value.
fn is_credential(name: &str, value: &str) -> bool {
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
    if value.is_empty() || value.starts_with('$') || value.starts_with('/') {
        return looks_like_aws_key(value);
    }
    let name = name.to_ascii_uppercase().replace(['-', '.'], "_");
    SECRET_NAMES.iter().any(|s| name.ends_with(s)) || looks_like_aws_key(value)
}

/// `AKIA…` / `ASIA…` followed by 16 upper-case letters or digits.
fn looks_like_aws_key(value: &str) -> bool {
    value.len() == 20
        && (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && value[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `cmd` (a history `created_by`) with every credential value of its build arguments and
/// `ENV` assignments masked, for showing the step beside a finding.
pub fn redact_command(cmd: &str) -> String {
    let mut out = cmd.to_owned();
    for (k, v) in build_args(cmd).into_iter().chain(env_assignments(cmd)) {
        if is_credential(k, v) {
            out = out.replace(&format!("{k}={v}"), &format!("{k}={}", mask(v)));
        }
    }
    out
}

/// The first and last two characters of `value` (`hu…r2`); values under 8 characters
/// show none (`…, 5 chars`).
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 8 {
        return format!("…, {} chars", chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}…{tail}")
}

/// The `K=V` build arguments of a history entry: `|2 A=1 B=2 /bin/sh -c …` (classic) or
/// `RUN |2 A=1 B=2 /bin/sh -c …` (BuildKit).
fn build_args(cmd: &str) -> Vec<(&str, &str)> {
    let rest = cmd.trim_start();
    let rest = rest.strip_prefix("RUN ").unwrap_or(rest);
    let Some(rest) = rest.strip_prefix('|') else {
        return Vec::new();
    };
    let (count, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let Ok(n) = count.parse::<usize>() else {
        return Vec::new();
    };
    rest.split(' ')
        .take(n)
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

/// The `K=V` pairs of an `ENV` step (`/bin/sh -c #(nop)  ENV A=1 B=2`, or BuildKit's
/// `ENV A=1 B=2`).
fn env_assignments(cmd: &str) -> Vec<(&str, &str)> {
    let body = match cmd.find("#(nop)") {
        Some(i) => cmd[i + 6..].trim_start(),
        None => cmd.trim_start(),
    };
    let Some(rest) = body.strip_prefix("ENV ") else {
        return Vec::new();
    };
    rest.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HistoryEntry;

    fn step(created_by: &str, empty: bool) -> HistoryEntry {
        HistoryEntry {
            created_by: Some(created_by.to_owned()),
            empty_layer: empty,
            ..HistoryEntry::default()
        }
    }

    #[test]
    fn env_labels_build_args_and_overwritten_env_are_found_masked() {
        let mut config = ImageConfig::default();
        config.rootfs.diff_ids = vec![
            crate::model::Digest::of(b"base"),
            crate::model::Digest::of(b"pip"),
        ];
        config.config.env = Some(vec![
            "PATH=/usr/bin".into(),
            "DB_PASSWORD=hunter2-hunter2".into(),
            "API_TOKEN_FILE=/run/secrets/token".into(),
            "GITHUB_TOKEN=$GH_TOKEN".into(),
            "KEY_ID=AKIAABCDEFGHIJKLMNOP".into(),
        ]);
        config.config.labels =
            Some([("org.example.api-key".to_owned(), "k3y-k3y-k3y".to_owned())].into());
        config.history = vec![
            step("/bin/sh -c #(nop) ADD file:abc in / ", false),
            step(
                "/bin/sh -c #(nop)  ENV NPM_TOKEN=npm_0123456789abcdef",
                true,
            ),
            step(
                "|1 PIP_PASSWORD=pip-pass-1234 /bin/sh -c pip install x",
                false,
            ),
            step("/bin/sh -c #(nop)  ENV NPM_TOKEN=", true),
        ];
        let found = check_metadata(&config);
        let all: Vec<(&str, Option<u32>, &[String])> = found
            .iter()
            .map(|f| (f.rule.as_str(), f.layer, f.evidence.as_slice()))
            .collect();
        assert_eq!(
            all,
            [
                (
                    "secret.build-arg",
                    Some(1),
                    &["step 2: ARG PIP_PASSWORD=pi…34".to_owned()][..]
                ),
                (
                    "secret.config-env",
                    None,
                    &[
                        "ENV DB_PASSWORD=hu…r2".to_owned(),
                        "ENV KEY_ID=AK…OP".to_owned()
                    ][..]
                ),
                (
                    "secret.config-label",
                    None,
                    &["LABEL org.example.api-key=k3…3y".to_owned()][..]
                ),
                (
                    "secret.history-env",
                    None,
                    &["step 1: ENV NPM_TOKEN=np…ef".to_owned()][..]
                ),
            ],
            "{found:#?}"
        );
        let text = serde_json::to_string(&found).unwrap();
        for secret in [
            "hunter2-hunter2",
            "npm_0123456789abcdef",
            "pip-pass-1234",
            "AKIAABCDEFGHIJKLMNOP",
            "k3y-k3y-k3y",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn commands_shown_beside_findings_are_redacted() {
        assert_eq!(
            redact_command("|2 NPM_TOKEN=npm_0123456789 MODE=prod /bin/sh -c npm ci"),
            "|2 NPM_TOKEN=np…89 MODE=prod /bin/sh -c npm ci"
        );
        assert_eq!(
            redact_command("/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2-hunter2 PORT=80"),
            "/bin/sh -c #(nop)  ENV DB_PASSWORD=hu…r2 PORT=80"
        );
        assert_eq!(redact_command("/bin/sh -c make"), "/bin/sh -c make");
    }

    #[test]
    fn masks_never_show_more_than_four_characters() {
        assert_eq!(mask("abcdefgh"), "ab…gh");
        assert_eq!(mask("short"), "…, 5 chars");
        assert_eq!(mask("pässwörtlich"), "pä…ch");
    }
}
