//! Image platforms (`os/arch[/variant]`) as OCI descriptors and image configs state
//! them, parsed from the `linux/arm64/v8` form the docker CLI uses, normalised the way
//! containerd's `platforms.Normalize` does (`aarch64` = `arm64`, `arm64/v8` = `arm64`,
//! `x86_64` = `amd64`), so that comparisons agree with what `docker run` would pick.
//!
//! Choosing the default (host) platform is the caller's job: this crate is IO-free.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An image platform. `variant` is `None` when absent or implied (`arm64` = `arm64/v8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// Why a platform string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {0:?} (expected os/arch or os/arch/variant, e.g. linux/amd64)")]
pub struct BadPlatform(pub String);

impl Platform {
    /// Builds a normalised platform from its parts (empty variant = none).
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        let os = os.trim().to_ascii_lowercase();
        let arch = architecture.trim().to_ascii_lowercase();
        let variant = variant
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        let (architecture, variant) = normalize_arch(&arch, variant);
        Platform {
            os,
            architecture,
            variant,
        }
    }

    /// Parses `os/arch` or `os/arch/variant` (e.g. `linux/amd64`, `linux/arm64/v8`).
    pub fn parse(s: &str) -> Result<Self, BadPlatform> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok_part = |p: &str| {
            p.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| ok_part(p)) {
            return Err(BadPlatform(s.chars().take(80).collect()));
        }
        Ok(Platform::new(parts[0], parts[1], parts.get(2).copied()))
    }

    /// Whether an image of platform `self` satisfies a request for `wanted`: os and
    /// architecture must be equal; a wanted variant must be equal, no wanted variant
    /// accepts any.
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.variant.is_none() || self.variant == wanted.variant)
    }

    /// The `unknown/unknown` platform BuildKit puts on attestation manifests.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

fn normalize_arch(arch: &str, variant: Option<String>) -> (String, Option<String>) {
    match arch {
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), variant),
        "i386" | "386" => ("386".into(), None),
        "aarch64" | "arm64" => {
            let variant = variant.filter(|v| v != "v8" && v != "8");
            ("arm64".into(), variant)
        }
        "armhf" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "arm" => {
            let variant = match variant.as_deref() {
                None | Some("7") => Some("v7".into()),
                Some("6") => Some("v6".into()),
                Some("5") => Some("v5".into()),
                Some("8") => Some("v8".into()),
                _ => variant,
            };
            ("arm".into(), variant)
        }
        other => (other.to_owned(), variant),
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Platform {
    type Err = BadPlatform;
    fn from_str(s: &str) -> Result<Self, BadPlatform> {
        Platform::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let p = Platform::parse("linux/amd64").unwrap();
        assert_eq!(p.to_string(), "linux/amd64");
        let arm = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(arm, Platform::parse("linux/aarch64").unwrap());
        assert_eq!(arm.to_string(), "linux/arm64");
        assert_eq!(
            Platform::parse("linux/arm").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(
            Platform::new("linux", "x86_64", Some("")).to_string(),
            "linux/amd64"
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "a/b/c/d",
            "linux/am d64",
            "x/../y",
        ] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn variant_matching() {
        let v7 = Platform::parse("linux/arm/v7").unwrap();
        let v6 = Platform::parse("linux/arm/v6").unwrap();
        let any_amd = Platform::parse("linux/amd64").unwrap();
        let amd_v3 = Platform::new("linux", "amd64", Some("v3"));
        assert!(v7.satisfies(&Platform::parse("linux/arm").unwrap()));
        assert!(!v6.satisfies(&v7));
        assert!(amd_v3.satisfies(&any_amd));
        assert!(!any_amd.satisfies(&amd_v3));
        assert!(Platform::new("unknown", "unknown", None).is_unknown());
    }
}
