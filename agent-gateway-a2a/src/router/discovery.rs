//! The discovery listing: registered agents matching a search by name, tag and skill.

use serde_json::{Value, json};

use crate::registry::AgentRegistry;

/// A discovery search. Every given criterion must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryQuery {
    /// A case-insensitive substring of the agent's name.
    pub name: Option<String>,
    /// A tag the agent carries (exact, case-insensitive).
    pub tag: Option<String>,
    /// A skill id, name or skill tag from the agent's card (exact, case-insensitive).
    pub skill: Option<String>,
}

impl DiscoveryQuery {
    /// Reads `name`, `tag` and `skill` string members of the params.
    pub fn from_params(params: &Value) -> Self {
        let get = |k: &str| {
            params
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        DiscoveryQuery {
            name: get("name"),
            tag: get("tag"),
            skill: get("skill"),
        }
    }
}

fn skill_matches(card: &Value, wanted: &str) -> bool {
    let eq = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case(wanted))
    };
    card.get("skills")
        .and_then(Value::as_array)
        .is_some_and(|skills| {
            skills.iter().any(|s| {
                eq(s.get("id"))
                    || eq(s.get("name"))
                    || s.get("tags")
                        .and_then(Value::as_array)
                        .is_some_and(|t| t.iter().any(|t| eq(Some(t))))
            })
        })
}

/// The matching agents, as `(name, entry)`.
pub(crate) async fn list(agents: &AgentRegistry, query: &DiscoveryQuery) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for agent in agents.agents() {
        if let Some(n) = &query.name
            && !agent
                .name()
                .to_ascii_lowercase()
                .contains(&n.to_ascii_lowercase())
        {
            continue;
        }
        if let Some(t) = &query.tag
            && !agent.tags().iter().any(|x| x.eq_ignore_ascii_case(t))
        {
            continue;
        }
        let mut skills = Value::Null;
        if let Some(s) = &query.skill {
            match agents.card(agent.name()).await {
                Ok(c) if skill_matches(&c.card, s) => {
                    skills = c.card.get("skills").cloned().unwrap_or(Value::Null)
                }
                _ => continue,
            }
        }
        let mut entry = json!({
            "name": agent.name(),
            "description": agent.description(),
            "tags": agent.tags(),
            "owner": agent.owner(),
            "card": format!("{}/.well-known/agent-card.json", agent.name()),
        });
        if !skills.is_null() {
            entry["skills"] = skills;
        }
        out.push((agent.name().to_owned(), entry));
    }
    out
}
