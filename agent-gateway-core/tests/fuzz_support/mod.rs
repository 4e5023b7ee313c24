//! Strategies shared by the `fuzz_*` property tests: arbitrary JSON, mutations of valid seeds,
//! and the cut points that split a byte stream into chunks. One file for the whole workspace:
//! the mcp, a2a and llm crates include it with `#[path]`.
//!
//! The tests run with proptest's default case count (256, or `PROPTEST_CASES`), so CI stays
//! fast and a long run is one environment variable away (see the README's test section).

#![allow(dead_code, unreachable_pub)]

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::{Map, Number, Value};

/// The configuration of every fuzz test: proptest's defaults (256 cases, or `PROPTEST_CASES`),
/// with failing cases kept in `proptest-regressions/<file>` in the crate, replayed first on
/// every run. (proptest's own default looks for a `lib.rs` beside the test, which a file in
/// `tests/` does not have.)
pub fn config(file: &'static str) -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..Config::default()
    }
}

/// Strings that exercise escapes, multi-byte characters and the empty string.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z/_]{0,8}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
        1 => Just(String::new()),
    ]
}

/// Any JSON value, nested a few levels, with small collections.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One edit to a byte string.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Flip one bit of the byte at this index (modulo the length).
    Flip(usize, u8),
    /// Insert a byte.
    Insert(usize, u8),
    /// Remove a byte.
    Remove(usize),
    /// Cut the input here.
    Truncate(usize),
    /// Copy a run of bytes elsewhere (splices that keep the tokens valid).
    Splice(usize, usize, usize),
}

/// Up to eight edits: the mutation engine of a coverage-guided fuzzer, without the coverage.
pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => any::<usize>().prop_map(Edit::Remove),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => (any::<usize>(), any::<usize>(), 1usize..16).prop_map(|(a, b, n)| Edit::Splice(a, b, n)),
    ];
    prop::collection::vec(edit, 0..8)
}

/// `seed` with `edits` applied.
pub fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for edit in edits {
        let len = bytes.len();
        match *edit {
            Edit::Flip(i, bit) if len > 0 => bytes[i % len] ^= 1 << bit,
            Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Edit::Remove(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Edit::Truncate(i) => bytes.truncate(i % (len + 1)),
            Edit::Splice(from, to, n) if len > 0 => {
                let from = from % len;
                let run = bytes[from..(from + n).min(len)].to_vec();
                let to = to % (len + 1);
                bytes.splice(to..to, run);
            }
            _ => {}
        }
    }
    bytes
}

/// Cut points (indices into a buffer of any length, reduced modulo it).
pub fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(any::<usize>(), 0..12)
}

/// `bytes` split at `cuts` (taken modulo the length, sorted), keeping empty chunks.
pub fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    for cut in at {
        chunks.push(&bytes[start..cut]);
        start = cut;
    }
    chunks.push(&bytes[start..]);
    chunks
}

/// Runs `test` on values of `strategy` with [`config`], one current-thread runtime for all
/// cases, and panics with the minimal failing case.
pub fn run_async<S, F, Fut>(file: &'static str, strategy: S, test: F)
where
    S: Strategy,
    F: Fn(S::Value) -> Fut,
    Fut: std::future::Future<Output = Result<(), TestCaseError>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut runner = proptest::test_runner::TestRunner::new(config(file));
    if let Err(e) = runner.run(&strategy, |value| rt.block_on(test(value))) {
        panic!("{e}");
    }
}
