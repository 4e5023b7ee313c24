//! The gateway's HTTP application: the routes every deployment serves, and the fronts the
//! configuration enables.
//!
//! ```
//! use agent_gateway_examples::{app, config::Config};
//! use agent_gateway_core::testkit::TestClient;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let client = TestClient::new(app::router(&Config::embedded_default().unwrap()));
//! let res = client.get("/").send().await;
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.json()["name"], "agent-gateway");
//! let res = client.post("/healthz").send().await;
//! assert_eq!(res.status(), 405);
//! # });
//! ```

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::config::Config;

/// The gateway's router for `config`.
pub fn router(config: &Config) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(health))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.server.body_limit.get()))
}

async fn index() -> impl IntoResponse {
    Json(json!({
        "name": "agent-gateway",
        "version": env!("CARGO_PKG_VERSION"),
        "fronts": [],
        "health": "/healthz",
    }))
}

async fn health() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"code": "not_found", "message": "no such route"}})),
    )
}
