//! The registry auth handshake as docker does it: the `WWW-Authenticate` challenge of a
//! 401 (`Bearer realm=…,service=…,scope=…` or `Basic`), a token fetched from the realm
//! (anonymously, with basic credentials, or by exchanging an identity token through the
//! OAuth2 `refresh_token` grant), and a cache of the `Authorization` value per registry
//! and scope until the token expires.

use super::credentials::Credential;
use base64::Engine as _;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Lifetime assumed for a token whose answer names none (distribution's default).
const DEFAULT_TOKEN_LIFE: Duration = Duration::from_secs(60);
/// Largest token answer read.
pub const MAX_TOKEN_ANSWER: u64 = 1 << 20;

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Basic,
}

impl Challenge {
    /// Parses the header value; `None` for schemes registries do not use.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = params(rest);
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `k="v", k2=v2` with quoted values that may hold commas and escaped quotes.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() || chars.next() != Some('=') {
            return out;
        }
        while chars.next_if(|c| *c == ' ').is_some() {}
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        out.push((key.trim().to_owned(), value.trim().to_owned()));
    }
}

/// `Authorization: Basic …` for a user and password.
pub fn basic_header(username: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {b64}")
}

/// The token endpoint's answer.
#[derive(Debug, serde::Deserialize)]
pub struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenAnswer {
    /// The bearer token and how long it lives.
    pub fn into_token(self) -> Option<(String, Duration)> {
        let token = self
            .token
            .filter(|t| !t.is_empty())
            .or(self.access_token.filter(|t| !t.is_empty()))?;
        let life = self.expires_in.map_or(DEFAULT_TOKEN_LIFE, |s| {
            Duration::from_secs(s.clamp(10, 3600))
        });
        Some((token, life))
    }
}

/// How a token request is made for a credential.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRequest {
    /// `GET realm?service&scope`, with `Authorization` when given.
    Get { authorization: Option<String> },
    /// `POST realm` with an OAuth2 form (identity tokens).
    Post { form: Vec<(String, String)> },
}

/// The token request for `credential` at a Bearer challenge.
pub fn token_request(
    credential: Option<&Credential>,
    service: Option<&str>,
    scope: &str,
) -> TokenRequest {
    match credential {
        Some(Credential::IdentityToken(t)) => {
            let mut form = vec![
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("refresh_token".to_owned(), t.clone()),
                ("client_id".to_owned(), "strata".to_owned()),
                ("scope".to_owned(), scope.to_owned()),
            ];
            if let Some(s) = service {
                form.push(("service".to_owned(), s.to_owned()));
            }
            TokenRequest::Post { form }
        }
        Some(Credential::Basic { username, password }) => TokenRequest::Get {
            authorization: Some(basic_header(username, password)),
        },
        None => TokenRequest::Get {
            authorization: None,
        },
    }
}

/// (registry, scope) → (`Authorization` value, expiry).
type Entries = HashMap<(String, String), (String, Option<Instant>)>;

/// `Authorization` values by (registry, scope), until they expire.
#[derive(Debug, Default)]
pub struct AuthCache {
    entries: Mutex<Entries>,
}

impl AuthCache {
    /// The value to send, if a live one is known.
    pub fn get(&self, registry: &str, scope: &str) -> Option<String> {
        let mut m = self.entries.lock();
        let key = (registry.to_owned(), scope.to_owned());
        match m.get(&key) {
            Some((v, None)) => Some(v.clone()),
            Some((v, Some(until))) if Instant::now() < *until => Some(v.clone()),
            Some(_) => {
                m.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Remembers a value; `life` `None` = until replaced (basic auth).
    pub fn put(&self, registry: &str, scope: &str, value: String, life: Option<Duration>) {
        // Renew a little early so a request never carries a token that expires in flight.
        let until = life.map(|l| Instant::now() + l.saturating_sub(Duration::from_secs(5)));
        self.entries
            .lock()
            .insert((registry.to_owned(), scope.to_owned()), (value, until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("reg.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate x"), None);
        assert_eq!(Challenge::parse("Bearer service=x"), None);
        assert_eq!(
            Challenge::parse(r#"bearer realm=https://a/t , service = "s\"q""#),
            Some(Challenge::Bearer {
                realm: "https://a/t".into(),
                service: Some("s\"q".into()),
                scope: None,
            })
        );
    }

    #[test]
    fn identity_tokens_use_the_refresh_grant() {
        let r = token_request(
            Some(&Credential::IdentityToken("rt".into())),
            Some("svc"),
            "repository:a:pull",
        );
        let TokenRequest::Post { form } = r else {
            panic!("{r:?}")
        };
        assert!(form.contains(&("grant_type".into(), "refresh_token".into())));
        assert!(form.contains(&("refresh_token".into(), "rt".into())));
        assert_eq!(
            token_request(None, None, "x"),
            TokenRequest::Get {
                authorization: None
            }
        );
        let TokenAnswer { .. } =
            serde_json::from_str::<TokenAnswer>(r#"{"access_token":"t"}"#).unwrap();
        assert_eq!(
            serde_json::from_str::<TokenAnswer>(r#"{"token":"t","expires_in":300}"#)
                .unwrap()
                .into_token(),
            Some(("t".into(), Duration::from_secs(300)))
        );
    }

    #[test]
    fn the_cache_forgets_expired_tokens() {
        let c = AuthCache::default();
        c.put("r", "s", "Bearer a".into(), Some(Duration::from_secs(1)));
        assert_eq!(c.get("r", "s"), None, "a token about to expire is not used");
        c.put("r", "s", "Bearer b".into(), Some(Duration::from_secs(60)));
        assert_eq!(c.get("r", "s").as_deref(), Some("Bearer b"));
        assert_eq!(c.get("r", "other"), None);
    }
}
