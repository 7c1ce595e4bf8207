//! The image's run configuration as plain text (image metadata is untrusted: text
//! nodes only, never HTML).

use app::api::RunConfig;
use leptos::prelude::*;

fn row(label: &'static str, value: String) -> impl IntoView {
    view! {
        <tr>
            <th scope="row">{label}</th>
            <td><code class="pre">{value}</code></td>
        </tr>
    }
}

fn join_or_dash(v: &[String]) -> String {
    if v.is_empty() {
        "—".to_owned()
    } else {
        v.join(" ")
    }
}

/// User, entrypoint, cmd, env, ports, volumes, labels.
#[component]
pub fn ConfigView(config: RunConfig) -> impl IntoView {
    let env = if config.env.is_empty() {
        "—".to_owned()
    } else {
        config.env.join("\n")
    };
    let labels = if config.labels.is_empty() {
        "—".to_owned()
    } else {
        config
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    view! {
        <table class="kv config-view" data-testid="config-view">
            <tbody>
                {row("User", config.user.clone().unwrap_or_else(|| "— (root)".into()))}
                {row("Working dir", config.working_dir.clone().unwrap_or_else(|| "—".into()))}
                {row("Entrypoint", join_or_dash(&config.entrypoint))}
                {row("Cmd", join_or_dash(&config.cmd))}
                {row("Env", env)}
                {row("Exposed ports", join_or_dash(&config.exposed_ports))}
                {row("Volumes", join_or_dash(&config.volumes))}
                {row("Labels", labels)}
                {row("Stop signal", config.stop_signal.clone().unwrap_or_else(|| "—".into()))}
            </tbody>
        </table>
    }
}
