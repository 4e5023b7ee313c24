//! Table tests of the Host and Origin checks.

use http::{HeaderMap, HeaderValue};

use super::HostPolicy;

fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(http::header::HOST, HeaderValue::from_str(host).unwrap());
    if let Some(o) = origin {
        h.insert(http::header::ORIGIN, HeaderValue::from_str(o).unwrap());
    }
    h
}

fn verdict(policy: &HostPolicy, host: &str, origin: Option<&str>) -> Result<(), &'static str> {
    policy
        .check(&http::Uri::from_static("/"), &headers(host, origin))
        .map_err(|d| match d.message() {
            "origin not allowed" => "origin",
            "host not allowed" => "host",
            _ => "other",
        })
}

#[test]
fn a_loopback_listener_accepts_loopback_origins_on_any_port_and_no_other() {
    let policy = HostPolicy::for_listener("127.0.0.1:8080".parse().unwrap());
    let table: &[(&str, Option<&str>, Result<(), &str>)] = &[
        ("127.0.0.1:8080", None, Ok(())),
        // The conformance suite's own request: Origin names the address it reached.
        ("127.0.0.1:8080", Some("http://127.0.0.1:8080"), Ok(())),
        ("127.0.0.1:8080", Some("http://localhost:3000"), Ok(())),
        ("localhost:8080", Some("http://localhost"), Ok(())),
        ("localhost:8080", Some("https://localhost:8443"), Ok(())),
        ("[::1]:8080", Some("http://[::1]:5173"), Ok(())),
        ("127.0.0.1:8080", Some("HTTP://LOCALHOST:1"), Ok(())),
        // Foreign pages, and names that only start like a loopback one.
        ("127.0.0.1:8080", Some("http://evil.example"), Err("origin")),
        (
            "127.0.0.1:8080",
            Some("http://localhost.evil.example"),
            Err("origin"),
        ),
        (
            "127.0.0.1:8080",
            Some("http://127.0.0.1.evil.example:80"),
            Err("origin"),
        ),
        (
            "127.0.0.1:8080",
            Some("http://localhost:80@evil.example"),
            Err("origin"),
        ),
        ("127.0.0.1:8080", Some("http://localhost:"), Err("origin")),
        ("127.0.0.1:8080", Some("null"), Err("origin")),
        ("127.0.0.1:8080", Some("file://localhost"), Err("origin")),
        // A rebound name is still refused by Host, whatever its origin.
        ("evil.example", Some("http://localhost:3000"), Err("host")),
        ("evil.example", None, Err("host")),
    ];
    for (host, origin, want) in table {
        assert_eq!(
            verdict(&policy, host, *origin),
            *want,
            "host {host}, origin {origin:?}"
        );
    }
}

#[test]
fn other_listeners_and_configured_origins_replace_the_loopback_default() {
    let public = HostPolicy::for_listener("0.0.0.0:8080".parse().unwrap());
    assert!(!public.loopback_origins());
    assert_eq!(
        verdict(&public, "gw.example", Some("http://localhost:3000")),
        Err("origin")
    );
    let configured = HostPolicy::for_listener("127.0.0.1:8080".parse().unwrap())
        .with_allowed_origins([HeaderValue::from_static("https://app.example")]);
    assert_eq!(
        verdict(&configured, "localhost", Some("https://app.example")),
        Ok(())
    );
    assert_eq!(
        verdict(&configured, "localhost", Some("http://localhost:3000")),
        Err("origin")
    );
}

#[test]
fn configured_origins_accept_port_wildcards() {
    let policy = HostPolicy::any_host().with_allowed_origins([
        HeaderValue::from_static("http://localhost:*"),
        HeaderValue::from_static("https://app.example"),
        HeaderValue::from_static("https://*.example"),
    ]);
    let table: &[(&str, Result<(), &str>)] = &[
        ("http://localhost", Ok(())),
        ("http://localhost:3000", Ok(())),
        ("http://LocalHost:3000", Ok(())),
        ("https://app.example", Ok(())),
        // A wildcard is a port wildcard only: not a scheme, a subdomain or a suffix.
        ("https://localhost:3000", Err("origin")),
        ("http://localhost:3000/x", Err("origin")),
        ("http://localhost:abc", Err("origin")),
        ("http://localhostx:3000", Err("origin")),
        ("https://app.example:8443", Err("origin")),
        ("https://evil.example", Err("origin")),
        ("https://a.example", Err("origin")),
    ];
    for (origin, want) in table {
        assert_eq!(
            verdict(&policy, "anything", Some(origin)),
            *want,
            "origin {origin}"
        );
    }
}

#[test]
fn the_host_of_an_http2_request_is_its_authority_and_must_agree_with_any_host_header() {
    let policy = HostPolicy::for_listener("127.0.0.1:8080".parse().unwrap());
    let check = |uri: &'static str, host: Option<&str>| {
        let mut h = HeaderMap::new();
        if let Some(host) = host {
            h.insert(http::header::HOST, HeaderValue::from_str(host).unwrap());
        }
        policy
            .check(&http::Uri::from_static(uri), &h)
            .map_err(|d| d.message().to_owned())
    };
    // HTTP/2: no Host header, the authority names the host.
    assert_eq!(check("http://127.0.0.1:8080/mcp", None), Ok(()));
    assert_eq!(check("http://LOCALHOST:8080/mcp", None), Ok(()));
    assert_eq!(
        check("http://evil.example/mcp", None),
        Err("host not allowed".into())
    );
    // Neither: nothing names an allowed host.
    assert_eq!(check("/mcp", None), Err("host not allowed".into()));
    // Both, agreeing or not (absolute form, or a forged Host beside :authority).
    assert_eq!(
        check("http://localhost:8080/mcp", Some("localhost:8080")),
        Ok(())
    );
    assert_eq!(
        check("http://evil.example/mcp", Some("localhost:8080")),
        Err("host not allowed".into())
    );
    assert_eq!(
        check("http://localhost:8080/mcp", Some("evil.example")),
        Err("host not allowed".into())
    );
}
