//! Safe parsing of an upstream's `Retry-After`: seconds (integer or decimal), `retry-after-ms`
//! or an HTTP date, never panicking and always clamped to [`MAX_RETRY_AFTER`].
//!
//! An upstream's header is not trusted input for arithmetic: `Retry-After: 1e19` does not fit a
//! [`Duration`] built with `from_secs_f64`, and `1e12` seconds added to an [`Instant`]
//! overflows it or, if it does not, rests a deployment for millennia. Every value read here is
//! clamped first, and [`rest_until`] adds it to an instant without overflowing.
//!
//! ```
//! use std::time::{Duration, Instant, SystemTime};
//! use agent_gateway_core::upstream::retry_after::{self, MAX_RETRY_AFTER};
//! use http::HeaderMap;
//!
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! assert_eq!(retry_after::parse("3", now), Some(Duration::from_secs(3)));
//! assert_eq!(retry_after::parse("1.5", now), Some(Duration::from_millis(1500)));
//! // Huge values are clamped, garbage is ignored.
//! assert_eq!(retry_after::parse("1e19", now), Some(MAX_RETRY_AFTER));
//! assert_eq!(retry_after::parse("soon", now), None);
//! // `retry-after-ms` wins over `retry-after`.
//! let mut headers = HeaderMap::new();
//! headers.insert("retry-after", "9".parse().unwrap());
//! headers.insert("retry-after-ms", "250".parse().unwrap());
//! assert_eq!(retry_after::from_headers(&headers, now), Some(Duration::from_millis(250)));
//! // Adding the rest to an instant never overflows.
//! let start = Instant::now();
//! assert!(retry_after::rest_until(start, Duration::MAX) <= start + MAX_RETRY_AFTER);
//! ```

use std::time::{Duration, Instant, SystemTime};

use http::HeaderMap;

/// The longest rest an upstream can ask for. Five minutes: long enough to honour a real rate
/// limit window, short enough that one odd header cannot take a deployment out for good.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Parses a `Retry-After` value: delay seconds (an integer, or a decimal as some providers
/// send), or an HTTP date, taken relative to `now` (a date in the past is zero). Negative,
/// non-finite and unparsable values are `None`; the result is at most [`MAX_RETRY_AFTER`].
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(secs) = seconds(value) {
        return Some(clamp_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// Parses a `retry-after-ms` value (OpenAI's): milliseconds, integer or decimal, clamped to
/// [`MAX_RETRY_AFTER`].
pub fn parse_millis(value: &str) -> Option<Duration> {
    seconds(value.trim()).map(|ms| clamp_secs(ms / 1000.0))
}

/// The rest an upstream asked for in `headers`: `retry-after-ms` if it parses, else
/// `retry-after`; clamped to [`MAX_RETRY_AFTER`].
pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    text("retry-after-ms")
        .and_then(parse_millis)
        .or_else(|| text("retry-after").and_then(|v| parse(v, now)))
}

/// `now + after`, with `after` clamped to [`MAX_RETRY_AFTER`] and the sum saturating instead of
/// panicking when the platform's `Instant` cannot hold it.
pub fn rest_until(now: Instant, after: Duration) -> Instant {
    let after = after.min(MAX_RETRY_AFTER);
    now.checked_add(after).unwrap_or(now)
}

/// A non-negative, finite number of seconds (or of milliseconds, for the caller to scale).
fn seconds(value: &str) -> Option<f64> {
    // Only digits, one dot and an exponent: `f64::from_str` also reads `inf` and `NaN`.
    if value.is_empty()
        || !value
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    value
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
}

fn clamp_secs(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())).unwrap_or(MAX_RETRY_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn values_parse_safely_and_clamp() {
        let now = epoch(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        let cases: &[(&str, Option<Duration>)] = &[
            ("0", Some(Duration::ZERO)),
            ("120", Some(Duration::from_secs(120))),
            (" 7 ", Some(Duration::from_secs(7))),
            ("0.25", Some(Duration::from_millis(250))),
            ("299.5", Some(Duration::from_millis(299_500))),
            ("301", Some(MAX_RETRY_AFTER)),
            ("1e12", Some(MAX_RETRY_AFTER)),
            ("1e19", Some(MAX_RETRY_AFTER)),
            ("10000000000000000000", Some(MAX_RETRY_AFTER)),
            ("1e400", None),
            ("-1", None),
            ("inf", None),
            ("NaN", None),
            ("", None),
            ("soon", None),
            ("12s", None),
            (
                "Wed, 21 Oct 2015 07:28:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(Duration::ZERO)),
            ("Fri, 31 Dec 9999 23:59:59 GMT", Some(MAX_RETRY_AFTER)),
            ("Wed, 32 Oct 2015 07:28:30 GMT", None),
        ];
        for (value, expected) in cases {
            assert_eq!(parse(value, now), *expected, "{value:?}");
        }
    }

    #[test]
    fn millis_win_and_clamp() {
        let now = epoch(0);
        let mut headers = HeaderMap::new();
        assert_eq!(from_headers(&headers, now), None);
        headers.insert("retry-after", "1e19".parse().unwrap());
        assert_eq!(from_headers(&headers, now), Some(MAX_RETRY_AFTER));
        headers.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(
            from_headers(&headers, now),
            Some(Duration::from_millis(1500))
        );
        headers.insert("retry-after-ms", "1e30".parse().unwrap());
        assert_eq!(from_headers(&headers, now), Some(MAX_RETRY_AFTER));
        // Unparsable milliseconds fall back to the seconds header.
        headers.insert("retry-after-ms", "x".parse().unwrap());
        assert_eq!(from_headers(&headers, now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn rest_until_saturates() {
        let now = Instant::now();
        assert_eq!(rest_until(now, Duration::MAX), now + MAX_RETRY_AFTER);
        assert_eq!(
            rest_until(now, Duration::from_secs(2)),
            now + Duration::from_secs(2)
        );
    }
}
