//! W3C Trace Context: the `traceparent` a call arrives with, continued by the gateway's own span
//! and sent on to upstreams.
//!
//! A call that arrives with a well-formed `traceparent` keeps its trace id; the gateway's span is
//! a [`child`](TraceParent::child) of it (same trace, new span id). A call without one starts a
//! new trace ([`TraceParent::root`]). The gateway's context goes in the request's
//! [`Extensions`](http::Extensions) and in its `traceparent` header, so a connector that forwards
//! the header (or writes it into MCP's `params._meta`) hands upstreams the gateway's span, not
//! the client's.
//!
//! ```
//! use agent_gateway_core::trace::TraceParent;
//!
//! let incoming = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
//! let ours = incoming.child();
//! assert_eq!(ours.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_ne!(ours.span_id(), incoming.span_id());
//! assert!(ours.sampled());
//! assert_eq!(TraceParent::parse(&ours.to_string()), Some(ours));
//! // Malformed or all-zero ids are not continued.
//! assert_eq!(TraceParent::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), None);
//! assert_eq!(TraceParent::parse("garbage"), None);
//! ```

use std::cell::RefCell;
use std::fmt;

use http::{HeaderMap, HeaderValue};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// The W3C `traceparent` header (and MCP `params._meta` key).
pub const TRACEPARENT: &str = "traceparent";

/// The W3C `tracestate` header (and MCP `params._meta` key), relayed unchanged.
pub const TRACESTATE: &str = "tracestate";

/// The sampled bit of the trace flags.
const SAMPLED: u8 = 0x01;

/// A W3C trace context: trace id, parent span id and trace flags.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` value: version `00` exactly, or a later version's first four
    /// fields (as the spec asks of a version-00 reader). `None` for anything malformed, the
    /// invalid version `ff`, or an all-zero trace or span id.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let mut fields = value.split('-');
        let version = hex::<1>(fields.next()?)?[0];
        let trace_id = hex::<16>(fields.next()?)?;
        let span_id = hex::<8>(fields.next()?)?;
        let flags = hex::<1>(fields.next()?)?[0];
        let exact = version == 0 && fields.next().is_none();
        let later = version != 0 && version != 0xff;
        let valid = trace_id != [0; 16] && span_id != [0; 8];
        (valid && (exact || later)).then_some(TraceParent {
            trace_id,
            span_id,
            flags,
        })
    }

    /// A context from its ids (a tracer's, e.g. OpenTelemetry's) and whether it is sampled;
    /// `None` if either id is all zeros (invalid).
    ///
    /// ```
    /// use agent_gateway_core::trace::TraceParent;
    ///
    /// let tp = TraceParent::new([0x4b; 16], [0x01; 8], true).unwrap();
    /// assert_eq!(tp.to_string(), format!("00-{}-{}-01", "4b".repeat(16), "01".repeat(8)));
    /// assert_eq!(TraceParent::new([0; 16], [0x01; 8], true), None);
    /// ```
    pub fn new(trace_id: [u8; 16], span_id: [u8; 8], sampled: bool) -> Option<Self> {
        (trace_id != [0; 16] && span_id != [0; 8]).then_some(TraceParent {
            trace_id,
            span_id,
            flags: if sampled { SAMPLED } else { 0 },
        })
    }

    /// The context of the `traceparent` header in `headers`, if there is exactly one well-formed.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut values = headers.get_all(TRACEPARENT).iter();
        let first = values.next()?;
        if values.next().is_some() {
            return None;
        }
        Self::parse(first.to_str().ok()?)
    }

    /// A new trace, sampled: random trace and span ids.
    pub fn root() -> Self {
        TraceParent {
            trace_id: random(),
            span_id: random(),
            flags: SAMPLED,
        }
    }

    /// A span of the same trace: a new span id, the same flags.
    #[must_use]
    pub fn child(&self) -> Self {
        TraceParent {
            span_id: random(),
            ..*self
        }
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        to_hex(&self.trace_id)
    }

    /// The span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        to_hex(&self.span_id)
    }

    /// The trace id's bytes.
    pub fn trace_id_bytes(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The span id's bytes.
    pub fn span_id_bytes(&self) -> [u8; 8] {
        self.span_id
    }

    /// Whether the caller sampled this trace.
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// The context as a header value.
    pub fn to_header_value(&self) -> HeaderValue {
        // Only hex digits and dashes: always a valid header value.
        HeaderValue::from_bytes(&self.encode()).unwrap_or(HeaderValue::from_static(""))
    }

    /// `00-{trace id}-{span id}-{flags}`, written on the stack: every request writes it at
    /// least once, and formatting it piece by piece cost a dozen allocations.
    fn encode(&self) -> [u8; ENCODED_LEN] {
        let mut out = [b'-'; ENCODED_LEN];
        out[..2].copy_from_slice(b"00");
        hex_into(&self.trace_id, &mut out[3..35]);
        hex_into(&self.span_id, &mut out[36..52]);
        hex_into(&[self.flags], &mut out[53..]);
        out
    }
}

/// The length of an encoded `traceparent`: version, trace id, span id, flags and 3 dashes.
const ENCODED_LEN: usize = 2 + 1 + 32 + 1 + 16 + 1 + 2;

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoded = self.encode();
        // Only ASCII hex digits and dashes.
        f.write_str(std::str::from_utf8(&encoded).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TraceParent")
            .field(&self.to_string())
            .finish()
    }
}

/// `N` bytes from exactly `2N` lowercase hex digits (the spec forbids upper case).
fn hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0; N];
    for (i, pair) in s.as_bytes().chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex into `out`, which holds exactly two digits per byte.
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
}

thread_local! {
    /// Each thread's id generator: a CSPRNG (ChaCha12) seeded once from the OS, so a new id
    /// costs no system call (two `getrandom` calls per new trace before). `None` when the OS
    /// generator could not seed it.
    static IDS: RefCell<Option<StdRng>> = RefCell::new(StdRng::try_from_os_rng().ok());
}

/// Random, never all-zero ids (an all-zero id is invalid).
fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    IDS.with_borrow_mut(|rng| match rng {
        Some(rng) => {
            while out == [0; N] {
                rng.fill_bytes(&mut out);
            }
        }
        // The OS generator failed: a fixed non-zero id keeps the trace valid.
        None => out = [0x01; N],
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_examples_and_rejects_malformed() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = TraceParent::parse(tp).unwrap();
        assert_eq!(parsed.to_string(), tp);
        assert_eq!(parsed.span_id(), "00f067aa0ba902b7");
        let unsampled = TraceParent::parse(&tp.replace("-01", "-00")).unwrap();
        assert!(!unsampled.sampled());
        // A later version may carry more fields; version ff and a longer 00 may not.
        assert!(TraceParent::parse(&format!("cc{}-extra", &tp[2..])).is_some());
        assert_eq!(TraceParent::parse(&format!("ff{}", &tp[2..])), None);
        assert_eq!(TraceParent::parse(&format!("{tp}-extra")), None);
        assert_eq!(TraceParent::parse(&tp.to_uppercase()), None);
        assert_eq!(
            TraceParent::parse(&tp.replace("00f067aa0ba902b7", "0000000000000000")),
            None
        );
        assert_eq!(TraceParent::parse(&tp[..54]), None);
    }

    #[test]
    fn headers_with_two_traceparents_are_not_continued() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut headers = HeaderMap::new();
        assert_eq!(TraceParent::from_headers(&headers), None);
        headers.append(TRACEPARENT, HeaderValue::from_static(tp));
        assert_eq!(
            TraceParent::from_headers(&headers)
                .map(|t| t.to_string())
                .as_deref(),
            Some(tp)
        );
        headers.append(TRACEPARENT, HeaderValue::from_static(tp));
        assert_eq!(TraceParent::from_headers(&headers), None);
    }

    #[test]
    fn roots_are_fresh_and_sampled() {
        let (a, b) = (TraceParent::root(), TraceParent::root());
        assert_ne!(a.trace_id(), b.trace_id());
        assert!(a.sampled());
        assert_eq!(
            TraceParent::parse(a.to_header_value().to_str().unwrap()),
            Some(a)
        );
    }
}
