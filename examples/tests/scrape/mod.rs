//! Scraping the gateway's `/metrics` in tests: the Prometheus text format parsed into one
//! value per series, and how a series moved between two scrapes.
#![allow(dead_code)] // each test binary uses a part

use std::collections::BTreeMap;

use agent_gateway_core::testkit::TestClient;

/// One scrape: each sample's value by its name and labels as written (`name{a="x",b="y"}`).
pub(crate) type Scrape = BTreeMap<String, f64>;

/// Parses the Prometheus text format: `# HELP`/`# TYPE` lines and samples `series value`.
pub(crate) fn parse(text: &str) -> Scrape {
    let mut samples = Scrape::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "{line} twice"
        );
    }
    samples
}

pub(crate) async fn scrape(client: &TestClient<axum::Router>) -> Scrape {
    let res = client.get("/metrics").send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let content_type = res.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(res.text())
}

/// How much `series` moved between two scrapes (a series not yet there counts as 0).
pub(crate) fn moved(before: &Scrape, after: &Scrape, series: &str) -> f64 {
    let value = |s: &Scrape| s.get(series).copied().unwrap_or(0.0);
    value(after) - value(before)
}
