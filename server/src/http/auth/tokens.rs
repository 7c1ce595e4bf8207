//! The `--tokens-file`: one `ROLE TOKEN [NAME]` or `ROLE sha256:HEX [NAME]` per line
//! (`#` comments and blank lines allowed). Only SHA-256 digests are kept in memory, and a
//! presented token is hashed and compared against every entry in constant time.

use super::Role;
use app::model::Digest;
use std::path::{Path, PathBuf};

/// Shortest raw token accepted from the file (guessing must stay impractical).
pub const MIN_TOKEN_LEN: usize = 16;

/// Why the tokens file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokensError {
    #[error("cannot read tokens file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tokens file {path} line {line}: {reason}")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("tokens file {path} has no tokens")]
    Empty { path: PathBuf },
}

#[derive(Debug, Clone)]
struct Entry {
    role: Role,
    digest: [u8; 32],
    user: String,
}

/// The accepted tokens, as digests.
#[derive(Debug, Clone, Default)]
pub struct TokenStore {
    entries: Vec<Entry>,
}

impl TokenStore {
    /// Reads and parses a tokens file.
    pub fn load(path: &Path) -> Result<TokenStore, TokensError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            path: path.to_owned(),
            source,
        })?;
        TokenStore::parse(&text)
            .map_err(|(line, reason)| TokensError::Line {
                path: path.to_owned(),
                line,
                reason,
            })?
            .non_empty()
            .ok_or_else(|| TokensError::Empty {
                path: path.to_owned(),
            })
    }

    fn non_empty(self) -> Option<TokenStore> {
        (!self.entries.is_empty()).then_some(self)
    }

    /// Parses the file text; the error is `(line number, reason)`.
    pub fn parse(text: &str) -> Result<TokenStore, (usize, String)> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(role), Some(secret)) = (fields.next(), fields.next()) else {
                return Err((line_no, "expected ROLE TOKEN [NAME]".to_owned()));
            };
            let role: Role = role.parse().map_err(|e| (line_no, e))?;
            let user = fields
                .next()
                .map_or_else(|| format!("token-line-{line_no}"), str::to_owned);
            if fields.next().is_some() {
                return Err((line_no, "expected ROLE TOKEN [NAME]".to_owned()));
            }
            let digest = match secret.strip_prefix("sha256:") {
                Some(hex) => decode_hex(hex).ok_or_else(|| {
                    (
                        line_no,
                        "sha256: must be followed by 64 hex digits".to_owned(),
                    )
                })?,
                None if secret.len() < MIN_TOKEN_LEN => {
                    return Err((
                        line_no,
                        format!("token shorter than {MIN_TOKEN_LEN} characters"),
                    ))
                }
                None => hash(secret),
            };
            entries.push(Entry { role, digest, user });
        }
        Ok(TokenStore { entries })
    }

    /// The role and user name of `token`, if it is one of ours. Every entry is compared
    /// (no early exit) in constant time.
    pub fn lookup(&self, token: &str) -> Option<(Role, String)> {
        let presented = hash(token);
        let mut found = None;
        for e in &self.entries {
            if constant_time_eq(&presented, &e.digest) && found.is_none() {
                found = Some((e.role, e.user.clone()));
            }
        }
        found
    }

    /// One random 128-bit admin token (from the OS random source) for this run; the
    /// token text is returned once so `serve` can print the URL.
    pub fn generate() -> std::io::Result<(TokenStore, String)> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| std::io::Error::other(format!("startup token: os random source: {e}")))?;
        let token = hex::encode(bytes);
        let store = TokenStore {
            entries: vec![Entry {
                role: Role::Admin,
                digest: hash(&token),
                user: "startup-token".to_owned(),
            }],
        };
        Ok((store, token))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn hash(token: &str) -> [u8; 32] {
    decode_hex(Digest::of(token.as_bytes()).hex()).unwrap_or([0; 32])
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_raw_and_hashed_tokens_with_roles() {
        let hashed = Digest::of(b"second-secret-token-value").hex().to_owned();
        let text = format!(
            "# team tokens\n\nviewer first-secret-token-value alice\nadmin sha256:{hashed}\n"
        );
        let store = TokenStore::parse(&text).unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(
            store.lookup("first-secret-token-value"),
            Some((Role::Viewer, "alice".to_owned()))
        );
        assert_eq!(
            store.lookup("second-secret-token-value"),
            Some((Role::Admin, "token-line-4".to_owned()))
        );
        assert_eq!(store.lookup("first-secret-token-valuE"), None);
        assert_eq!(store.lookup(""), None);
    }

    #[test]
    fn rejects_bad_lines_with_line_numbers() {
        for (text, line, needle) in [
            ("root aaaaaaaaaaaaaaaaaaaa", 1, "unknown role"),
            ("\nviewer short", 2, "shorter than"),
            ("admin sha256:abc", 1, "64 hex"),
            ("admin", 1, "expected ROLE TOKEN"),
            (
                "viewer aaaaaaaaaaaaaaaaaaaa name extra",
                1,
                "expected ROLE TOKEN",
            ),
        ] {
            let (l, reason) = TokenStore::parse(text).unwrap_err();
            assert_eq!(l, line, "{text}");
            assert!(reason.contains(needle), "{text}: {reason}");
        }
    }

    #[test]
    fn generated_tokens_are_random_admin_tokens() {
        let (store, token) = TokenStore::generate().unwrap();
        let (_, other) = TokenStore::generate().unwrap();
        assert_eq!(token.len(), 32);
        assert_ne!(token, other);
        assert_eq!(
            store.lookup(&token),
            Some((Role::Admin, "startup-token".to_owned()))
        );
        assert_eq!(store.lookup(&other), None);
    }

    #[test]
    fn constant_time_eq_matches_plain_eq() {
        let a = hash("x");
        let mut b = a;
        assert!(constant_time_eq(&a, &b));
        b[31] ^= 1;
        assert!(!constant_time_eq(&a, &b));
    }
}
