use agent_gateway_core::Caller;
use agent_gateway_core::caller::AuthMethod;
use serde_json::Value;

/// The claim listing the model aliases a credential may call. Absent: no restriction from
/// this credential; an empty list: none.
pub const CLAIM_ALLOWED_MODELS: &str = "allowed_models";
/// The claim listing the tools a credential may call. Absent: no restriction from this
/// credential; an empty list: none.
pub const CLAIM_ALLOWED_TOOLS: &str = "allowed_tools";
/// The claim listing the agents a credential may message. Absent: no restriction from this
/// credential; an empty list: none.
pub const CLAIM_ALLOWED_AGENTS: &str = "allowed_agents";

/// Who a configured credential (an API key, a known mTLS peer) stands for: the identity and
/// grants that become the [`Caller`].
///
/// The allow-lists travel as caller claims, [`CLAIM_ALLOWED_MODELS`], [`CLAIM_ALLOWED_TOOLS`]
/// and [`CLAIM_ALLOWED_AGENTS`], each an array of strings. The auth layer only records them;
/// the authorize layer enforces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    subject: String,
    tenant: Option<String>,
    team: Option<String>,
    roles: Vec<String>,
    scopes: Vec<String>,
    allowed_models: Option<Vec<String>>,
    allowed_tools: Option<Vec<String>>,
    allowed_agents: Option<Vec<String>>,
}

fn strings<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

impl Principal {
    /// A principal with the given subject and no grants.
    pub fn new(subject: impl Into<String>) -> Self {
        Principal {
            subject: subject.into(),
            tenant: None,
            team: None,
            roles: Vec::new(),
            scopes: Vec::new(),
            allowed_models: None,
            allowed_tools: None,
            allowed_agents: None,
        }
    }

    /// Sets the tenant.
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Sets the team.
    pub fn with_team(mut self, team: impl Into<String>) -> Self {
        self.team = Some(team.into());
        self
    }

    /// Adds a role.
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Adds a scope.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Restricts the model aliases this principal may call.
    pub fn with_allowed_models<S: Into<String>>(
        mut self,
        models: impl IntoIterator<Item = S>,
    ) -> Self {
        self.allowed_models = Some(strings(models));
        self
    }

    /// Restricts the tools this principal may call.
    pub fn with_allowed_tools<S: Into<String>>(
        mut self,
        tools: impl IntoIterator<Item = S>,
    ) -> Self {
        self.allowed_tools = Some(strings(tools));
        self
    }

    /// Restricts the agents this principal may message.
    pub fn with_allowed_agents<S: Into<String>>(
        mut self,
        agents: impl IntoIterator<Item = S>,
    ) -> Self {
        self.allowed_agents = Some(strings(agents));
        self
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The caller this principal stands for, authenticated by `method`.
    pub fn to_caller(&self, method: AuthMethod) -> Caller {
        let mut caller = Caller::new(self.subject.clone()).with_method(method);
        if let Some(tenant) = &self.tenant {
            caller = caller.with_tenant(tenant.clone());
        }
        if let Some(team) = &self.team {
            caller = caller.with_team(team.clone());
        }
        for role in &self.roles {
            caller = caller.with_role(role.clone());
        }
        for scope in &self.scopes {
            caller = caller.with_scope(scope.clone());
        }
        let lists = [
            (CLAIM_ALLOWED_MODELS, &self.allowed_models),
            (CLAIM_ALLOWED_TOOLS, &self.allowed_tools),
            (CLAIM_ALLOWED_AGENTS, &self.allowed_agents),
        ];
        for (claim, list) in lists {
            if let Some(list) = list {
                caller = caller.with_claim(claim, Value::from(list.clone()));
            }
        }
        caller
    }
}
