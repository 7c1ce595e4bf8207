//! Readable build steps: turns a history entry's `created_by` text (classic builder,
//! BuildKit, or anything else) into the Dockerfile instruction and the commands a
//! reader wants to see one per line.
//!
//! The input is untrusted text from an image config, so this never panics and runs in
//! time linear in the input (plus the bounded step cap). Shell parsing is a best-effort
//! scanner, not a shell: it only decides where the top-level `&&`, `||`, `;` and
//! newline separators are, and keeps quotes, `$(…)`, backticks, `(…)`, `{ …; }`,
//! `if/case/for/while` bodies and heredoc bodies inside one step.

mod shell;
#[cfg(test)]
mod tests;

pub use shell::split_commands;

/// Most steps returned; the remainder stays in the last step.
pub const MAX_STEPS: usize = 500;

/// Dockerfile instructions recognised at the start of a history entry.
const INSTRUCTIONS: [&str; 18] = [
    "RUN",
    "COPY",
    "ADD",
    "ENV",
    "ARG",
    "LABEL",
    "WORKDIR",
    "USER",
    "CMD",
    "ENTRYPOINT",
    "EXPOSE",
    "VOLUME",
    "HEALTHCHECK",
    "SHELL",
    "STOPSIGNAL",
    "ONBUILD",
    "MAINTAINER",
    "FROM",
];

/// Shell prefixes the builders put before a `RUN` script.
const SHELL_PREFIXES: [&str; 4] = ["/bin/sh -c ", "/bin/bash -c ", "sh -c ", "bash -c "];

/// What joined a step to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Joiner {
    /// `&&`: run only if the previous command succeeded.
    And,
    /// `||`: run only if the previous command failed.
    Or,
    /// `;`: run next regardless.
    Seq,
    /// A newline in the script (heredoc or multi-line `RUN`).
    Newline,
}

impl Joiner {
    /// The operator as written (`"\n"` shown as `⏎` by callers if they like).
    pub fn as_str(self) -> &'static str {
        match self {
            Joiner::And => "&&",
            Joiner::Or => "||",
            Joiner::Seq => ";",
            Joiner::Newline => "\n",
        }
    }
}

/// One command of a split script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The operator before this step (`None` for the first).
    pub joiner: Option<Joiner>,
    /// The command, trimmed; a heredoc keeps its body and end line (multi-line).
    pub text: String,
}

/// A history entry made readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadableCommand {
    /// Upper-case Dockerfile instruction (`RUN`, `COPY`, ...); empty when unknown
    /// (e.g. `docker import`, `docker commit` or a tool's free text).
    pub instruction: String,
    /// Build arguments recorded with a `RUN` (`|2 A=b C=d`), as `NAME=value`.
    pub build_args: Vec<String>,
    /// The entry was written by BuildKit (`# buildkit` suffix).
    pub buildkit: bool,
    /// The instruction's arguments: one step per top-level command for `RUN`, a single
    /// step otherwise. Empty when there is nothing after the instruction.
    pub steps: Vec<Step>,
}

/// Parses a history `created_by` string. Total: any input gives an answer.
pub fn readable_command(created_by: &str) -> ReadableCommand {
    let mut rest = created_by.trim();
    let mut buildkit = false;
    if let Some(r) = rest.strip_suffix("# buildkit") {
        buildkit = true;
        rest = r.trim_end();
    }
    let mut instruction = leading_instruction(rest).map(|(i, r)| {
        rest = r;
        i
    });
    let mut build_args = Vec::new();
    if let Some((args, r)) = build_arg_prefix(rest) {
        build_args = args;
        rest = r;
    }
    let mut shell_form = false;
    for prefix in SHELL_PREFIXES {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r.trim_start();
            shell_form = true;
            break;
        }
    }
    if let Some(r) = rest.strip_prefix("#(nop)") {
        // classic builder metadata step: `#(nop)  ENV A=b`
        rest = r.trim_start();
        if let Some((i, r)) = leading_instruction(rest) {
            instruction = Some(i);
            rest = r;
        }
    } else if shell_form && instruction.is_none() {
        instruction = Some("RUN");
    }
    if instruction.is_none() && !build_args.is_empty() {
        instruction = Some("RUN");
    }
    let instruction = instruction.unwrap_or("");
    let rest = rest.trim();
    let steps = if rest.is_empty() {
        Vec::new()
    } else if instruction == "RUN" && !rest.starts_with('[') {
        split_commands(rest)
    } else {
        vec![Step {
            joiner: None,
            text: rest.to_owned(),
        }]
    };
    ReadableCommand {
        instruction: instruction.to_owned(),
        build_args,
        buildkit,
        steps,
    }
}

/// `RUN rest` → (`"RUN"`, `rest`): only an exact upper-case instruction word.
fn leading_instruction(s: &str) -> Option<(&'static str, &str)> {
    let word_end = s.find(char::is_whitespace).unwrap_or(s.len());
    let word = s.get(..word_end)?;
    let found = INSTRUCTIONS.iter().find(|i| **i == word)?;
    Some((found, s.get(word_end..).unwrap_or("").trim_start()))
}

/// `|2 A=b C=d rest` → (`["A=b", "C=d"]`, `rest`), when the count matches the words.
fn build_arg_prefix(s: &str) -> Option<(Vec<String>, &str)> {
    let body = s.strip_prefix('|')?;
    let digits_end = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    let count: usize = body.get(..digits_end)?.parse().ok()?;
    let mut rest = body.get(digits_end..)?;
    let mut args = Vec::new();
    for _ in 0..count {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = rest.get(..end)?;
        if !word.contains('=') {
            return None;
        }
        args.push(word.to_owned());
        rest = rest.get(end..)?;
    }
    Some((args, rest.trim_start()))
}
