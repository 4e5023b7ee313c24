//! `Mcp-Param-*` headers: tool arguments mirrored into HTTP headers, declared by a tool's
//! `inputSchema` properties with `"x-mcp-header": "Name"`.
//!
//! The federation learns each tool's declarations from the listings it relays. On a modern
//! call, it checks the client's headers against the arguments (400 with -32020 on a mismatch,
//! as the upstream would) and sends the upstream only headers it computed itself from the
//! arguments and the declarations, so that a legacy client in front of a modern upstream gets
//! them too. A client's own `Mcp-Param-*` header never reaches an upstream: an upstream may
//! route or authorise on these headers, trusting that they mirror the arguments.
//!
//! A call to a tool whose declarations are not known yet (after a restart, before any
//! listing, or once evicted) gets no headers; when the client sent `Mcp-Param-*` headers
//! itself (it read a declaration the gateway has not), the upstream's `tools/list` is fetched
//! first, at most once per `REFETCH_AFTER` per upstream, so the headers can be checked and
//! computed. The table holds
//! at most `MAX_TOOLS` tools and forgets the oldest learnt first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use agent_gateway_core::BoxError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::member::Member;
use crate::McpError;
use crate::connector::mirrored;
use crate::method::McpMethod;
use crate::upstream::UpstreamRequest;

/// The prefix of mirrored argument headers.
pub(crate) const PREFIX: &str = "mcp-param-";

/// The most tools whose declarations are remembered, across all upstreams: a few thousand
/// upstreams' worth of tools, a few MiB. Past it the oldest learnt is forgotten (and fetched
/// again when called).
pub(crate) const MAX_TOOLS: usize = 65_536;

/// How long after fetching an upstream's declarations a miss does not fetch them again: a
/// client calling names no upstream lists cannot make the gateway list an upstream's tools
/// more often than this.
pub(crate) const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// The most `tools/list` pages one fetch reads: enough for thousands of tools, and a bound on
/// an upstream whose cursors never end.
const MAX_FETCH_PAGES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Boolean,
}

/// One declared header: `Mcp-Param-{header}` mirrors argument `property`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    header: String,
    property: String,
    kind: Kind,
}

fn token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A tool's declared headers, or `Err` when a declaration is invalid (empty, not a token,
/// duplicated, or on a property that is not a string, integer or boolean): such a tool is
/// dropped from listings, as clients must drop it.
pub(crate) fn declarations(tool: &Value) -> Result<Vec<Param>, ()> {
    let Some(Value::Object(props)) = tool.get("inputSchema").and_then(|s| s.get("properties"))
    else {
        return Ok(Vec::new());
    };
    let mut out: Vec<Param> = Vec::new();
    for (property, schema) in props {
        let Some(h) = schema.get("x-mcp-header") else {
            continue;
        };
        let header = h.as_str().filter(|h| token(h)).ok_or(())?;
        let kind = match schema.get("type").and_then(Value::as_str) {
            Some("string") => Kind::String,
            Some("integer") => Kind::Integer,
            Some("boolean") => Kind::Boolean,
            _ => return Err(()),
        };
        if out.iter().any(|p| p.header.eq_ignore_ascii_case(header)) {
            return Err(());
        }
        out.push(Param {
            header: header.to_owned(),
            property: property.clone(),
            kind,
        });
    }
    Ok(out)
}

fn header_name(p: &Param) -> Option<HeaderName> {
    HeaderName::from_bytes(
        format!("{PREFIX}{}", p.header)
            .to_ascii_lowercase()
            .as_bytes(),
    )
    .ok()
}

/// The header value mirroring `value`, or `None` when absent or null.
fn encode(value: &Value) -> Option<HeaderValue> {
    match value {
        Value::String(s) => mirrored(s),
        Value::Number(n) if n.is_i64() || n.is_u64() => HeaderValue::from_str(&n.to_string()).ok(),
        Value::Bool(b) => Some(HeaderValue::from_static(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn mismatch(what: String) -> BoxError {
    Box::new(McpError::HeaderMismatch(what))
}

/// The text of a header value, decoding the base64 sentinel.
fn decoded(raw: &HeaderValue, name: &str) -> Result<String, BoxError> {
    let text = raw
        .to_str()
        .map_err(|_| mismatch(format!("{name} is not visible ASCII")))?
        .trim();
    match text
        .strip_prefix("=?base64?")
        .and_then(|t| t.strip_suffix("?="))
    {
        Some(b64) => {
            let bytes = STANDARD
                .decode(b64)
                .map_err(|_| mismatch(format!("{name} has invalid base64")))?;
            String::from_utf8(bytes).map_err(|_| mismatch(format!("{name} is not UTF-8")))
        }
        None => Ok(text.to_owned()),
    }
}

/// Checks the client's headers against the arguments: each declared header must be present
/// exactly when its argument is, and say the same.
pub(crate) fn check(
    headers: &HeaderMap,
    declared: &[Param],
    args: &Map<String, Value>,
) -> Result<(), BoxError> {
    for p in declared {
        let Some(name) = header_name(p) else { continue };
        let mut values = headers.get_all(&name).iter();
        let (first, repeated) = (values.next(), values.next().is_some());
        let arg = args.get(&p.property).filter(|v| !v.is_null());
        let shown = format!("Mcp-Param-{}", p.header);
        match (first, arg) {
            (None, None) => {}
            (None, Some(_)) => return Err(mismatch(format!("missing {shown} header"))),
            (Some(_), None) => return Err(mismatch(format!("{shown} without its argument"))),
            (Some(_), Some(_)) if repeated => {
                return Err(mismatch(format!("{shown} header is repeated")));
            }
            (Some(raw), Some(arg)) => {
                let text = decoded(raw, &shown)?;
                let same = match (p.kind, arg) {
                    (Kind::String, Value::String(s)) => text == *s,
                    (Kind::Integer, Value::Number(n)) => text
                        .parse::<i64>()
                        .ok()
                        .zip(n.as_i64())
                        .is_some_and(|(a, b)| a == b),
                    (Kind::Boolean, Value::Bool(b)) => text == if *b { "true" } else { "false" },
                    _ => false,
                };
                if !same {
                    return Err(mismatch(format!("{shown} does not match its argument")));
                }
            }
        }
    }
    Ok(())
}

/// The headers for the upstream: computed from the arguments for the declared ones, and
/// nothing else (a client's own `Mcp-Param-*` headers are never forwarded).
pub(crate) fn upstream_headers(
    declared: &[Param],
    args: &Map<String, Value>,
) -> Vec<(HeaderName, HeaderValue)> {
    declared
        .iter()
        .filter_map(|p| Some((header_name(p)?, args.get(&p.property).and_then(encode)?)))
        .collect()
}

/// The table itself: declarations by (server, tool), and the order they were learnt in.
#[derive(Debug, Default)]
struct Table {
    tools: HashMap<(String, String), Vec<Param>>,
    order: VecDeque<(String, String)>,
    /// When each upstream's declarations were last fetched on a miss.
    fetched: HashMap<String, tokio::time::Instant>,
}

/// What the federation knows of each upstream's declarations, by server and tool name.
#[derive(Debug, Default)]
pub(crate) struct Declarations(Mutex<Table>);

impl Declarations {
    /// Remembers `tool`'s declarations for `server`, forgetting the oldest learnt tool when
    /// the table is full.
    pub(crate) fn learn(&self, server: &str, tool: &str, params: Vec<Param>) {
        let Ok(mut t) = self.0.lock() else { return };
        let key = (server.to_owned(), tool.to_owned());
        if let Some(known) = t.tools.get_mut(&key) {
            *known = params;
            return;
        }
        while t.tools.len() >= MAX_TOOLS {
            let Some(oldest) = t.order.pop_front() else {
                break;
            };
            t.tools.remove(&oldest);
        }
        t.order.push_back(key.clone());
        t.tools.insert(key, params);
    }

    fn get(&self, server: &str, tool: &str) -> Option<Vec<Param>> {
        let t = self.0.lock().ok()?;
        t.tools.get(&(server.to_owned(), tool.to_owned())).cloned()
    }

    /// How many tools the table knows.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map_or(0, |t| t.tools.len())
    }

    /// Whether `server`'s declarations may be fetched now; if so, the fetch is recorded.
    fn may_fetch(&self, server: &str) -> bool {
        let Ok(mut t) = self.0.lock() else {
            return false;
        };
        let now = tokio::time::Instant::now();
        if t.fetched
            .get(server)
            .is_some_and(|at| now.duration_since(*at) < REFETCH_AFTER)
        {
            return false;
        }
        if t.fetched.len() >= MAX_TOOLS {
            t.fetched
                .retain(|_, at| now.duration_since(*at) < REFETCH_AFTER);
        }
        t.fetched.insert(server.to_owned(), now);
        true
    }

    /// Learns `member`'s declarations from its `tools/list`, page by page. An upstream that
    /// is down or silent fails the fetch (the call would fail the same way, and is not made to
    /// wait twice); an upstream that answers with an error just teaches nothing.
    async fn fetch(&self, member: &Member) -> Result<(), BoxError> {
        let server = member.name.as_str();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_FETCH_PAGES {
            let mut params = Map::new();
            if let Some(c) = cursor.take() {
                params.insert("cursor".into(), Value::String(c));
            }
            let page = match member
                .send(UpstreamRequest::new(McpMethod::ToolsList, params))
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(upstream = %server, error = %e, "mcp: could not fetch tool declarations");
                    let unreachable = matches!(
                        agent_gateway_core::error::cause_ref::<McpError>(e.as_ref()),
                        Some(
                            McpError::UpstreamUnavailable { .. } | McpError::UpstreamTimeout { .. }
                        )
                    );
                    if !unreachable {
                        return Ok(());
                    }
                    // Fetched again on the next miss, once it is back.
                    if let Ok(mut t) = self.0.lock() {
                        t.fetched.remove(server);
                    }
                    return Err(e);
                }
            };
            if let Some(Value::Array(tools)) = page.get("tools") {
                for tool in tools {
                    if let (Some(name), Ok(declared)) =
                        (tool.get("name").and_then(Value::as_str), declarations(tool))
                    {
                        self.learn(server, name, declared);
                    }
                }
            }
            match page.get("nextCursor").and_then(Value::as_str) {
                Some(c) => cursor = Some(c.to_owned()),
                None => return Ok(()),
            }
        }
        Ok(())
    }

    /// `tool`'s declarations on `member`: as the last listing relayed through this federation
    /// showed them, else, when `fetch`, as the member's `tools/list` says now (see the module
    /// docs); a tool still unknown declares nothing, and gets no headers. Fails when the
    /// member is down or silent.
    pub(crate) async fn of(
        &self,
        member: &Member,
        tool: &str,
        fetch: bool,
    ) -> Result<Vec<Param>, BoxError> {
        let server = member.name.as_str();
        if let Some(known) = self.get(server, tool) {
            return Ok(known);
        }
        if fetch && self.may_fetch(server) {
            self.fetch(member).await?;
        }
        Ok(self.get(server, tool).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool() -> Value {
        json!({"name": "t", "inputSchema": {"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"},
            "note": {"type": "string"}}}})
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn declarations_are_read_and_invalid_ones_refused() {
        let d = declarations(&tool()).unwrap();
        assert_eq!(d.len(), 3);
        for bad in [
            json!({"a": {"type": "string", "x-mcp-header": ""}}),
            json!({"a": {"type": "string", "x-mcp-header": "has space"}}),
            json!({"a": {"type": "number", "x-mcp-header": "A"}}),
            json!({"a": {"type": "object", "x-mcp-header": "A"}}),
            json!({"a": {"type": "string", "x-mcp-header": "A"}, "b": {"type": "string", "x-mcp-header": "a"}}),
            json!({"a": {"type": "string", "x-mcp-header": 7}}),
        ] {
            let t = json!({"inputSchema": {"properties": bad}});
            assert!(declarations(&t).is_err(), "{t}");
        }
    }

    #[test]
    fn headers_are_checked_against_the_arguments() {
        let d = declarations(&tool()).unwrap();
        let a = args(json!({"region": "Hello", "priority": 5, "dry": true}));
        let ok = [
            headers(&[
                ("mcp-param-region", "Hello"),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "=?base64?SGVsbG8=?="),
                ("mcp-param-priority", "05"),
                ("mcp-param-dry-run", "true"),
            ]),
        ];
        for h in ok {
            assert!(check(&h, &d, &a).is_ok(), "{h:?}");
        }
        let bad = [
            headers(&[("mcp-param-priority", "5"), ("mcp-param-dry-run", "true")]),
            headers(&[
                ("mcp-param-region", "=?base64?SGVsbG8?="),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "=?base64?SGV*bG8=?="),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "Other"),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "Hello"),
                ("mcp-param-priority", "6"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "Hello"),
                ("mcp-param-region", "Hello"),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
        ];
        for h in bad {
            let e = check(&h, &d, &a).unwrap_err();
            assert!(
                matches!(
                    e.downcast_ref::<McpError>(),
                    Some(McpError::HeaderMismatch(_))
                ),
                "{h:?}"
            );
        }
        // A header for an argument that is absent is a mismatch too.
        let h = headers(&[("mcp-param-region", "x")]);
        assert!(check(&h, &d, &args(json!({}))).is_err());
    }

    #[test]
    fn upstream_headers_are_computed_only() {
        let d = declarations(&tool()).unwrap();
        let a = args(json!({"region": "héllo", "priority": 3, "dry": false}));
        let out = upstream_headers(&d, &a);
        let get = |n: &str| {
            out.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            get("mcp-param-region").as_deref(),
            Some("=?base64?aMOpbGxv?=")
        );
        assert_eq!(get("mcp-param-priority").as_deref(), Some("3"));
        assert_eq!(get("mcp-param-dry-run").as_deref(), Some("false"));
        assert_eq!(out.len(), 3);
        // An absent argument gets no header; no declarations, no headers at all.
        assert_eq!(upstream_headers(&d, &args(json!({"note": "x"}))).len(), 0);
        assert!(upstream_headers(&[], &a).is_empty());
    }

    #[test]
    fn the_table_forgets_the_oldest_never_everything() {
        let table = Declarations::default();
        let d = declarations(&tool()).unwrap();
        for i in 0..MAX_TOOLS + 10 {
            table.learn("s", &format!("t{i}"), d.clone());
        }
        assert_eq!(table.len(), MAX_TOOLS);
        assert_eq!(table.get("s", "t0"), None, "the oldest went first");
        assert_eq!(table.get("s", "t9"), None);
        assert_eq!(table.get("s", "t10"), Some(d.clone()));
        assert_eq!(
            table.get("s", &format!("t{}", MAX_TOOLS + 9)),
            Some(d.clone())
        );
        // Learning a known tool again replaces it in place.
        table.learn("s", "t10", Vec::new());
        assert_eq!(
            (table.len(), table.get("s", "t10")),
            (MAX_TOOLS, Some(Vec::new()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_miss_fetches_at_most_once_per_period() {
        let table = Declarations::default();
        assert!(table.may_fetch("s"));
        assert!(!table.may_fetch("s"));
        assert!(table.may_fetch("other"));
        tokio::time::advance(REFETCH_AFTER).await;
        assert!(table.may_fetch("s"));
    }
}
