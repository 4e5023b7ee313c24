//! Whose spend a budget limits, and what the read API reports.

use std::fmt;
use std::time::SystemTime;

use agent_gateway_core::Cost;

use crate::key::escape_into;

/// A level of the budget hierarchy: a key sits in a team, which sits in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Level {
    /// The layer's key: by default the caller's subject (see [`BudgetLayer::with_key`]).
    ///
    /// [`BudgetLayer::with_key`]: super::BudgetLayer::with_key
    Key,
    /// The caller's team.
    Team,
    /// The caller's tenant.
    Tenant,
}

impl Level {
    /// The stable name of the level, as used in store keys and rule ids.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Key => "key",
            Level::Team => "team",
            Level::Tenant => "tenant",
        }
    }

    pub(super) const fn index(self) -> usize {
        match self {
            Level::Key => 0,
            Level::Team => 1,
            Level::Tenant => 2,
        }
    }
}

/// One budget: a level and the id of a key, team or tenant at that level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    level: Level,
    id: String,
}

impl Scope {
    /// The budget of `id` at `level`.
    pub fn new(level: Level, id: impl Into<String>) -> Self {
        Scope {
            level,
            id: id.into(),
        }
    }

    /// The budget of one key (by default, one caller subject).
    pub fn key(id: impl Into<String>) -> Self {
        Scope::new(Level::Key, id)
    }

    /// The budget of one team.
    pub fn team(id: impl Into<String>) -> Self {
        Scope::new(Level::Team, id)
    }

    /// The budget of one tenant.
    pub fn tenant(id: impl Into<String>) -> Self {
        Scope::new(Level::Tenant, id)
    }

    /// The level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The id of the key, team or tenant.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The rule id a denial by this budget carries: `budget:<level>:<id>`.
    pub fn rule(&self) -> String {
        let mut out = format!("budget:{}:", self.level.as_str());
        escape_into(&mut out, &self.id);
        out
    }

    /// The store key of what settlements credited back to this budget in the period stamped
    /// `stamp`. The suffix cannot collide with a spend key: stamps contain no `:`.
    pub(super) fn credit_key(&self, stamp: &str) -> String {
        let mut out = self.store_key(stamp);
        out.push_str(":credit");
        out
    }

    /// The store key of this budget's spend in the period stamped `stamp`.
    pub(super) fn store_key(&self, stamp: &str) -> String {
        let mut out = self.rule();
        out.push(':');
        out.push_str(stamp);
        out
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.level.as_str(), self.id)
    }
}

/// What a budget has spent in its current period, for reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Spend {
    /// Spent so far in the current period.
    pub spent: Cost,
    /// The budget's limit, if one is configured for this scope.
    pub limit: Option<Cost>,
    /// When the current period ends (`None`: it never does).
    pub period_end: Option<SystemTime>,
}

impl Spend {
    /// What is left before the limit: `None` without a limit, zero once exhausted.
    pub fn remaining(&self) -> Option<Cost> {
        self.limit.map(|limit| {
            Cost::from_nano_usd(limit.nano_usd().saturating_sub(self.spent.nano_usd()))
        })
    }
}
