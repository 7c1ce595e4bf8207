//! Cross-site request forgery guard, in the manner of Go 1.25's
//! `http.CrossOriginProtection`: a state-changing request (anything but GET, HEAD and
//! OPTIONS) from a browser must say `Sec-Fetch-Site: same-origin` (or `none`), or carry
//! an `Origin` equal to the request's own host. Requests with neither header are not from
//! a browser (every current browser sends `Origin` on POST) and pass; bearer-token
//! clients are exempt because a page cannot attach an `Authorization` header cross-origin
//! without a CORS preflight, which this server never answers. Independently, any request
//! body must be `application/json`, so HTML forms (`text/plain`, urlencoded, multipart)
//! cannot reach a handler; the archive upload route alone also takes
//! `application/octet-stream` and `application/x-tar`, which forms cannot send either
//! (the origin checks still apply to it). Safe-method requests to `/api/` that a browser marks
//! `cross-site` or `same-site` are refused too (fetch-metadata resource isolation).

use super::{Denied, Principal, Via};
use axum::extract::Request;
use axum::http::{header, Method};

pub(super) fn check(req: &Request, principal: &Principal) -> Result<(), Denied> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && has_body(req) && !is_json(req) {
        let upload = crate::http::upload::is_upload_request(req);
        if !upload {
            return Err(Denied::UnsupportedMediaType(
                "request body must be application/json".to_owned(),
            ));
        }
        if !crate::http::upload::is_archive_body(req) {
            return Err(Denied::UnsupportedMediaType(
                "upload body must be the raw archive sent as application/octet-stream or application/x-tar"
                    .to_owned(),
            ));
        }
    }
    if principal.via == Via::Bearer {
        return Ok(());
    }
    if safe {
        return isolate_api(req);
    }
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str().unwrap_or("") {
            "same-origin" | "none" => Ok(()),
            other => Err(Denied::CrossOrigin(format!(
                "cross-origin request refused (Sec-Fetch-Site: {other})"
            ))),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    if origin_matches_host(origin, host) {
        Ok(())
    } else {
        Err(Denied::CrossOrigin(format!(
            "cross-origin request refused (Origin {origin:?} is not this server)"
        )))
    }
}

/// Fetch-metadata resource isolation: no other site's page may even read-trigger the
/// API (some GETs start analyses, e.g. `/compare`), while navigations to the UI stay
/// possible. `Sec-Fetch-Site: none` (typed URL, bookmark) and absent headers pass.
fn isolate_api(req: &Request) -> Result<(), Denied> {
    if !req.uri().path().starts_with("/api/") {
        return Ok(());
    }
    match req
        .headers()
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or(""))
    {
        Some(site @ ("cross-site" | "same-site")) => Err(Denied::CrossOrigin(format!(
            "cross-origin API request refused (Sec-Fetch-Site: {site})"
        ))),
        _ => Ok(()),
    }
}

fn has_body(req: &Request) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// `http://host:port` against the `Host` header, with default ports normalised.
fn origin_matches_host(origin: &str, host: &str) -> bool {
    let (authority, default_port) = if let Some(a) = origin.strip_prefix("http://") {
        (a, ":80")
    } else if let Some(a) = origin.strip_prefix("https://") {
        (a, ":443")
    } else {
        return false;
    };
    let norm = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.strip_suffix(default_port).map(str::to_owned).unwrap_or(s)
    };
    !host.is_empty() && norm(authority) == norm(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_equal_the_host() {
        assert!(origin_matches_host(
            "http://127.0.0.1:7878",
            "127.0.0.1:7878"
        ));
        assert!(origin_matches_host("http://LOCALHOST", "localhost:80"));
        assert!(origin_matches_host(
            "https://strata.internal",
            "strata.internal"
        ));
        assert!(!origin_matches_host(
            "http://localhost:9999",
            "localhost:7878"
        ));
        assert!(!origin_matches_host(
            "http://evil.example",
            "127.0.0.1:7878"
        ));
        assert!(!origin_matches_host("null", "127.0.0.1:7878"));
        assert!(!origin_matches_host("http://127.0.0.1:7878", ""));
    }
}
