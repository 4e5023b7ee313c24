//! The `endpoint` event's URL, resolved against the SSE URL and held to its origin.
//!
//! Every POST carries the upstream's credential, so the server's say-so must not send it to
//! another host: an endpoint on another scheme, host or port is refused. The URL used is
//! rebuilt from the configured SSE URL's scheme and authority and the endpoint's path and
//! query, so nothing in the event (user info, say) changes where the credential goes.

use http::Uri;
use http::uri::{PathAndQuery, Scheme};

use super::error::SseUpstreamError;

/// The port a URI names, or its scheme's default.
fn port(uri: &Uri) -> Option<u16> {
    uri.port_u16().or_else(|| match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
        Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
        _ => None,
    })
}

fn same_origin(a: &Uri, b: &Uri) -> bool {
    let scheme = |u: &Uri| u.scheme_str().map(str::to_ascii_lowercase);
    let host = |u: &Uri| u.host().map(str::to_ascii_lowercase);
    scheme(a).is_some() && scheme(a) == scheme(b) && host(a) == host(b) && port(a) == port(b)
}

/// Removes `.` and `..` segments (RFC 3986 §5.2.4).
fn remove_dots(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// Resolves the data of an `endpoint` event against `base`, the SSE URL. Refuses a URL on
/// another origin, and anything that is no URL.
pub(crate) fn resolve(base: &Uri, data: &str) -> Result<Uri, SseUpstreamError> {
    let data = data.trim();
    let data = data.split('#').next().unwrap_or_default();
    if data.is_empty() || data.chars().any(|c| c.is_ascii_control() || c == ' ') {
        return Err(SseUpstreamError::BadEndpoint);
    }
    let scheme = base.scheme().cloned().unwrap_or(Scheme::HTTP);
    let authority = base
        .authority()
        .cloned()
        .ok_or(SseUpstreamError::BadEndpoint)?;
    let path_and_query = if data.contains("://") || data.starts_with("//") {
        // Absolute, or network-path (scheme taken from the base).
        let full = if data.starts_with("//") {
            format!("{}:{data}", scheme.as_str())
        } else {
            data.to_owned()
        };
        let uri: Uri = full.parse().map_err(|_| SseUpstreamError::BadEndpoint)?;
        if !same_origin(base, &uri) {
            return Err(SseUpstreamError::CrossOrigin);
        }
        let (path, query) = (uri.path(), uri.query());
        join(&remove_dots(path), query)
    } else if let Some(query) = data.strip_prefix('?') {
        join(base.path(), Some(query))
    } else {
        let (path, query) = match data.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (data, None),
        };
        let merged = if path.starts_with('/') {
            path.to_owned()
        } else {
            let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
            format!("{dir}/{path}")
        };
        join(&remove_dots(&merged), query)
    };
    let pq: PathAndQuery = path_and_query
        .parse()
        .map_err(|_| SseUpstreamError::BadEndpoint)?;
    Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(pq)
        .build()
        .map_err(|_| SseUpstreamError::BadEndpoint)
}

fn join(path: &str, query: Option<&str>) -> String {
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn base() -> Uri {
        Uri::from_static("http://up.test:8080/mcp/sse?x=1")
    }

    #[test]
    fn relative_endpoints_resolve_against_the_sse_url() {
        for (data, want) in [
            (
                "/messages/?session_id=ab",
                "http://up.test:8080/messages/?session_id=ab",
            ),
            ("messages?s=1", "http://up.test:8080/mcp/messages?s=1"),
            ("../m", "http://up.test:8080/m"),
            ("./a/../b#frag", "http://up.test:8080/mcp/b"),
            ("?s=2", "http://up.test:8080/mcp/sse?s=2"),
            (
                "http://UP.test:8080/messages?s=3",
                "http://up.test:8080/messages?s=3",
            ),
            ("//up.test:8080/n", "http://up.test:8080/n"),
        ] {
            assert_eq!(resolve(&base(), data).unwrap().to_string(), want, "{data}");
        }
        // The default port is the same origin as no port.
        let plain = Uri::from_static("https://up.test/sse");
        assert_eq!(
            resolve(&plain, "https://up.test:443/m")
                .unwrap()
                .to_string(),
            "https://up.test/m"
        );
    }

    #[test]
    fn another_origin_is_refused() {
        for data in [
            "http://evil.test:8080/messages",
            "https://up.test:8080/messages",
            "http://up.test:8081/messages",
            "http://up.test/messages",
            "//evil.test/messages",
            "http://up.test:8080@evil.test/messages",
        ] {
            assert_eq!(
                resolve(&base(), data),
                Err(SseUpstreamError::CrossOrigin),
                "{data}"
            );
        }
        // User info in a same-origin URL is dropped: the configured authority is used.
        let with_user = resolve(&base(), "http://who@up.test:8080/m").unwrap();
        assert_eq!(with_user.to_string(), "http://up.test:8080/m");
        for data in ["", "  ", "/a b", "/a\nb"] {
            assert_eq!(
                resolve(&base(), data),
                Err(SseUpstreamError::BadEndpoint),
                "{data:?}"
            );
        }
    }
}
