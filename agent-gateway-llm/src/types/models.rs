//! `GET /v1/models`.

use serde::{Deserialize, Serialize};

use super::Extra;

/// The OpenAI model list: `{object: "list", data: [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    /// `list`.
    pub object: String,
    /// The models.
    pub data: Vec<Model>,
}

/// One listed model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The name a client uses as `model`.
    pub id: String,
    /// `model`.
    pub object: String,
    /// Who owns it.
    #[serde(default)]
    pub owned_by: String,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
