//! A small POSIX-shell scanner that finds top-level command separators.
//! Hand-written because shell-word crates split words but do not report where top-level
//! separators are, and must not fail on the unbalanced text real image histories hold.
//!
//! It tracks a stack of open constructs (double quotes, `$(`/`(`, backticks, `{`,
//! `if`, `case`, loops); a separator splits only when the stack is empty. Single
//! quotes, comments and heredoc bodies are copied verbatim. Unbalanced input is fine:
//! a stray closer is ignored and an unclosed opener keeps the rest in one step.

use super::{Joiner, Step, MAX_STEPS};

/// Constructs that keep separators inside one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    DoubleQuote,
    Paren,
    Backtick,
    Brace,
    If,
    Case,
    Loop,
}

/// A heredoc whose body starts at the next newline.
struct PendingHeredoc {
    delimiter: String,
    strip_tabs: bool,
}

struct Scanner {
    chars: Vec<char>,
    i: usize,
    stack: Vec<Open>,
    current: String,
    joiner: Option<Joiner>,
    steps: Vec<Step>,
    heredocs: Vec<PendingHeredoc>,
    /// The next word is in command position (where keywords count).
    command_position: bool,
}

/// Splits a shell script at top-level `&&`, `||`, `;` and newlines. Backslash-newline
/// continuations are joined; heredocs (`<<EOF`, `<<-EOF`, quoted delimiters) stay in
/// the step that opened them, body and end line included.
pub fn split_commands(script: &str) -> Vec<Step> {
    let mut s = Scanner {
        chars: script.chars().collect(),
        i: 0,
        stack: Vec::new(),
        current: String::new(),
        joiner: None,
        steps: Vec::new(),
        heredocs: Vec::new(),
        command_position: true,
    };
    s.run();
    s.finish(None);
    s.steps
}

impl Scanner {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn top(&self) -> Option<Open> {
        self.stack.last().copied()
    }

    fn in_double_quote(&self) -> bool {
        self.top() == Some(Open::DoubleQuote)
    }

    fn take(&mut self, n: usize) {
        for _ in 0..n {
            if let Some(c) = self.peek(0) {
                self.current.push(c);
                self.i += 1;
            }
        }
    }

    /// Ends the current step; `next` is the operator that starts the following one.
    fn finish(&mut self, next: Option<Joiner>) {
        if self.steps.len() + 1 >= MAX_STEPS && next.is_some() {
            // over the cap: keep the rest in this step, operator included
            if let Some(j) = next {
                self.current.push_str(match j {
                    Joiner::Newline => "\n",
                    other => other.as_str(),
                });
                self.current.push(' ');
            }
            return;
        }
        let text = self.current.trim().to_owned();
        self.current.clear();
        if !text.is_empty() {
            self.steps.push(Step {
                joiner: if self.steps.is_empty() {
                    None
                } else {
                    self.joiner
                },
                text,
            });
            self.joiner = next;
        } else if self.joiner.is_none() || next == Some(Joiner::And) || next == Some(Joiner::Or) {
            // an empty step (`;;`, blank line): the stronger operator wins
            self.joiner = next.or(self.joiner);
        }
        self.command_position = true;
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            let dq = self.in_double_quote();
            match c {
                '\\' => self.backslash(),
                '\'' if !dq => self.single_quote(),
                '"' if dq => {
                    self.stack.pop();
                    self.take(1);
                }
                '"' => {
                    self.stack.push(Open::DoubleQuote);
                    self.command_position = false;
                    self.take(1);
                }
                '`' if self.top() == Some(Open::Backtick) => {
                    self.stack.pop();
                    self.take(1);
                }
                '`' => {
                    self.stack.push(Open::Backtick);
                    self.take(1);
                }
                '$' if self.peek(1) == Some('(') => {
                    self.stack.push(Open::Paren);
                    self.take(2);
                    self.command_position = true;
                }
                _ if dq => self.take(1),
                '(' => {
                    self.stack.push(Open::Paren);
                    self.take(1);
                    self.command_position = true;
                }
                ')' => {
                    if self.top() == Some(Open::Paren) {
                        self.stack.pop();
                    }
                    self.take(1);
                }
                '#' if self.at_word_start() => self.comment(),
                '<' if self.peek(1) == Some('<') && self.peek(2) != Some('<') => self.heredoc(),
                '\n' => self.newline(),
                ';' | '&' | '|' => self.operator(c),
                c if c.is_whitespace() => {
                    // runs of blanks (and joined continuations) become one space
                    self.i += 1;
                    if !self.current.is_empty() && !self.current.ends_with(char::is_whitespace) {
                        self.current.push(' ');
                    }
                }
                _ => self.word(),
            }
        }
    }

    fn at_word_start(&self) -> bool {
        self.i == 0
            || self
                .chars
                .get(self.i - 1)
                .is_some_and(|p| p.is_whitespace() || matches!(p, ';' | '&' | '|' | '('))
    }

    fn backslash(&mut self) {
        if self.peek(1) == Some('\n') {
            // line continuation: the two characters vanish
            self.i += 2;
            if !self.current.ends_with(char::is_whitespace) {
                self.current.push(' ');
            }
        } else {
            self.take(2);
        }
    }

    fn single_quote(&mut self) {
        self.take(1);
        while let Some(c) = self.peek(0) {
            self.take(1);
            if c == '\'' {
                break;
            }
        }
        self.command_position = false;
    }

    fn comment(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == '\n' {
                break;
            }
            self.take(1);
        }
    }

    fn operator(&mut self, c: char) {
        let doubled = self.peek(1) == Some(c);
        if !self.stack.is_empty() {
            self.take(if doubled { 2 } else { 1 });
            self.command_position = true;
            return;
        }
        match (c, doubled) {
            (';', _) => {
                self.i += 1;
                self.finish(Some(Joiner::Seq));
            }
            ('&', true) => {
                self.i += 2;
                self.finish(Some(Joiner::And));
            }
            ('|', true) => {
                self.i += 2;
                self.finish(Some(Joiner::Or));
            }
            _ => {
                // a pipe or `&` (background) stays inside the step
                self.take(1);
                self.command_position = true;
            }
        }
    }

    fn newline(&mut self) {
        if !self.heredocs.is_empty() {
            self.take(1);
            self.heredoc_bodies();
        }
        if self.stack.is_empty() {
            if self.peek(0) == Some('\n') {
                self.i += 1;
            }
            self.finish(Some(Joiner::Newline));
        } else {
            self.take(1);
            self.command_position = true;
        }
    }

    /// Copies each pending heredoc's body and end line into the current step; leaves
    /// the scanner on the newline after the last end line (or at the end of input).
    fn heredoc_bodies(&mut self) {
        let pending = std::mem::take(&mut self.heredocs);
        for (n, doc) in pending.iter().enumerate() {
            loop {
                let start = self.i;
                let end = self.chars[start..]
                    .iter()
                    .position(|c| *c == '\n')
                    .map_or(self.chars.len(), |p| start + p);
                let line: String = self.chars[start..end].iter().collect();
                self.current.push_str(&line);
                self.i = end;
                let shown = if doc.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line.as_str()
                };
                let last_doc = n + 1 == pending.len();
                let closed = shown.trim_end() == doc.delimiter;
                if end >= self.chars.len() || (closed && last_doc) {
                    break;
                }
                self.take(1);
                if closed {
                    break;
                }
            }
        }
    }

    /// `<<EOF`, `<<-EOF`, `<< 'EOF'`, `<<"EOF"`, `<<\EOF`: records the delimiter.
    fn heredoc(&mut self) {
        self.take(2);
        let strip_tabs = self.peek(0) == Some('-');
        if strip_tabs {
            self.take(1);
        }
        while self.peek(0).is_some_and(|c| c == ' ' || c == '\t') {
            self.take(1);
        }
        let mut delimiter = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek(0) {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => delimiter.push(c),
                None if c == '\'' || c == '"' => quote = Some(c),
                None if c == '\\' => {}
                None if c.is_whitespace()
                    || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')') =>
                {
                    break
                }
                None => delimiter.push(c),
            }
            self.take(1);
        }
        if !delimiter.is_empty() {
            self.heredocs.push(PendingHeredoc {
                delimiter,
                strip_tabs,
            });
        }
        self.command_position = false;
    }

    /// A plain word; keywords in command position open or close a construct.
    fn word(&mut self) {
        let start = self.i;
        while let Some(c) = self.peek(0) {
            if c.is_whitespace()
                || matches!(
                    c,
                    ';' | '&' | '|' | '(' | ')' | '<' | '>' | '\'' | '"' | '`' | '\\'
                )
                || (c == '$' && self.peek(1) == Some('('))
            {
                break;
            }
            self.take(1);
        }
        if self.i == start {
            // a lone `<` or `>`: redirections are part of the command
            self.take(1);
            return;
        }
        let word: String = self.chars[start..self.i].iter().collect();
        if !self.command_position {
            return;
        }
        match word.as_str() {
            "if" => self.stack.push(Open::If),
            "case" => self.stack.push(Open::Case),
            "for" | "while" | "until" | "select" => self.stack.push(Open::Loop),
            "{" => self.stack.push(Open::Brace),
            "fi" => self.close(Open::If),
            "esac" => self.close(Open::Case),
            "done" => self.close(Open::Loop),
            "}" => self.close(Open::Brace),
            _ => {}
        }
        self.command_position = matches!(
            word.as_str(),
            "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "{" | "!" | "time"
        );
    }

    fn close(&mut self, what: Open) {
        if self.top() == Some(what) {
            self.stack.pop();
        }
    }
}
