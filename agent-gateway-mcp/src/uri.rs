//! Resource URIs as policy rules see them: normalised once, at the edge, so that two spellings
//! of one resource are one target.
//!
//! [`normalize`] applies the RFC 3986 (§6.2.2) normalisations that never change what a URI
//! names: percent-encoded unreserved characters are decoded (`%7E` → `~`, `%2e` → `.`), the
//! hex digits of the remaining percent-encodings are upper-cased, and dot segments are removed
//! from an absolute path (`/srv/../etc` → `/etc`), after the decoding, so `%2e%2e` counts as
//! `..`.
//! Reserved characters stay encoded (`%2F` is not a `/`), and the scheme and host keep their
//! case (a federated URI's scheme carries the server's name).
//!
//! [`McpRequest`](crate::McpRequest) normalises every URI it exposes as a target (resources
//! read or subscribed, a completion's resource reference, the resources of a listen filter),
//! so a rule such as `target.startsWith("fs+file:///etc/")` holds for
//! `fs+file:///srv/../etc/passwd` and `fs+file:///%65tc/passwd` too; the upstream is sent the
//! same normalised URI.
//!
//! ```
//! use agent_gateway_mcp::uri::normalize;
//!
//! assert_eq!(normalize("fs+file:///srv/../etc/passwd"), "fs+file:///etc/passwd");
//! assert_eq!(normalize("fs+file:///srv/%2e%2E/%65tc/./passwd"), "fs+file:///etc/passwd");
//! assert_eq!(normalize("https://h.example/a/b/..?q=%2f#x"), "https://h.example/a/?q=%2F#x");
//! // Already normal: borrowed, unchanged.
//! assert!(matches!(normalize("demo+note://a/b"), std::borrow::Cow::Borrowed(_)));
//! ```

use std::borrow::Cow;

/// Whether `b` is an RFC 3986 unreserved character.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes percent-encoded unreserved characters and upper-cases the other encodings'
/// digits. A `%` not followed by two hex digits is kept as it is.
fn percent(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?)))
            .flatten();
        match decoded {
            Some((hi, lo)) if unreserved(hi * 16 + lo) => {
                out.push(char::from(hi * 16 + lo));
                i += 3;
            }
            Some(_) => {
                out.push('%');
                out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                i += 3;
            }
            None => {
                // Copy the whole character (the string is UTF-8, `%` is ASCII).
                let len = s[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&s[i..i + len]);
                i += len;
            }
        }
    }
    out
}

/// RFC 3986 §5.2.4 `remove_dot_segments`.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut out: Vec<&str> = Vec::new();
    while !input.is_empty() {
        if let Some(rest) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/" } else { &input[3..] };
            out.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            // The first segment, with its leading `/` if any, up to the next `/`.
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |e| e + start);
            out.push(&input[..end]);
            input = &input[end..];
        }
    }
    out.concat()
}

/// `uri` normalised (see the module docs); borrowed when it is normal already.
pub fn normalize(uri: &str) -> Cow<'_, str> {
    if !uri.contains('%') && !uri.contains("/.") {
        // Nothing to decode, and no dot segment in an absolute path.
        return Cow::Borrowed(uri);
    }
    let decoded = percent(uri);
    // Split off the fragment and query, which keep their dots.
    let (rest, fragment) = match decoded.find('#') {
        Some(i) => decoded.split_at(i),
        None => (decoded.as_str(), ""),
    };
    let (rest, query) = match rest.find('?') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    // The scheme, if any, ends at the first `:` before any `/`.
    let scheme_end = rest
        .find(':')
        .filter(|&i| i > 0 && !rest[..i].contains('/'))
        .map_or(0, |i| i + 1);
    let (scheme, hier) = rest.split_at(scheme_end);
    // The authority, if any, is `//` up to the next `/`.
    let (authority, path) = match hier.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').map_or(after.len(), |e| e);
            hier.split_at(2 + end)
        }
        None => ("", hier),
    };
    // Only a hierarchical (absolute) path has dot segments to remove: an opaque one
    // (`urn:a:../b`) means what its scheme says.
    let path = if path.starts_with('/') {
        Cow::Owned(remove_dot_segments(path))
    } else {
        Cow::Borrowed(path)
    };
    let out = format!("{scheme}{authority}{path}{query}{fragment}");
    if out == uri {
        Cow::Borrowed(uri)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_and_encodings() {
        for (raw, normal) in [
            ("file:///a/b/c/./../../g", "file:///a/g"),
            ("file:///srv/../etc/passwd", "file:///etc/passwd"),
            ("file:///srv/..", "file:///"),
            ("file:///../../etc", "file:///etc"),
            ("fs+file:///srv/%2e%2e/etc", "fs+file:///etc"),
            ("fs+file:///srv/%2E./etc", "fs+file:///etc"),
            ("demo+note://host/a/./b", "demo+note://host/a/b"),
            ("https://h/a%2fb/%7euser", "https://h/a%2Fb/~user"),
            ("https://h/a?x=/../y#/./z", "https://h/a?x=/../y#/./z"),
            ("urn:x:a/../b", "urn:x:a/../b"),
            ("rel/./x/../y", "rel/./x/../y"),
            ("odd%zz/%4", "odd%zz/%4"),
            ("s:/utf8/é/%c3%a9/../x", "s:/utf8/é/x"),
            ("s:/é/%c3%a9", "s:/é/%C3%A9"),
            ("", ""),
        ] {
            assert_eq!(normalize(raw), normal, "{raw}");
            // Normalising twice changes nothing more.
            assert_eq!(normalize(normal), normal, "{normal}");
        }
    }
}
