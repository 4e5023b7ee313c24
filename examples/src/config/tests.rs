//! The whole file's parsing: defaults, the README's example, and mistakes naming their key.

use super::*;

#[test]
fn embedded_default_parses() {
    let c = Config::embedded_default().unwrap();
    assert_eq!(c.server.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.server.body_limit.get(), DEFAULT_BODY_LIMIT);
}

#[test]
fn empty_file_gives_defaults() {
    let c = Config::from_toml_str("").unwrap();
    assert_eq!(c.server.listen.port(), 8080);
}

#[test]
fn zero_body_limit_is_rejected_with_its_key() {
    let err = Config::from_toml_str("[server]\nbody_limit_bytes = 0\n").unwrap_err();
    assert!(err.to_string().contains("server.body_limit_bytes"), "{err}");
}

#[test]
fn missing_file_names_the_path() {
    let err = Config::from_file(Path::new("/nonexistent/gw.toml")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/gw.toml"), "{err}");
}

#[test]
fn policy_sections_parse_into_typed_values() {
    let c = Config::embedded_default().unwrap();
    assert!(c.auth.required);
    assert_eq!(c.auth.api_keys.len(), 1);
    assert_eq!(c.rules.as_ref().map(Vec::len), Some(1));
    assert_eq!(c.quotas[0].key, [KeyPart::Caller]);
    assert_eq!(c.quotas[0].period, std::time::Duration::from_secs(60));
    assert!(c.budget.is_none());
    assert!(c.store.redis_url.is_none());
}

#[test]
fn policy_mistakes_name_their_key() {
    for (text, key) in [
        (
            "[[auth.api_keys]]\nkey_sha256 = \"abc\"\nsubject = \"a\"\n",
            "auth.api_keys.key_sha256",
        ),
        (
            "[authorize]\n[[authorize.rules]]\nid = \"r\"\neffect = \"maybe\"\ncondition = \"true\"\n",
            "authorize.rules.effect",
        ),
        (
            "[[quota]]\nid = \"q\"\nkey = \"subject+colour\"\nlimit = 1\nperiod_secs = 1\n",
            "quota.key",
        ),
        (
            "[[quota]]\nid = \"q\"\nkey = \"subject\"\nlimit = 0\nperiod_secs = 1\n",
            "quota.limit",
        ),
        (
            "[[quota]]\nid = \"q\"\nunit = \"bytes\"\nkey = \"subject\"\nlimit = 1\nperiod_secs = 1\n",
            "quota.unit",
        ),
        ("[budget]\nperiod = \"weekly\"\n", "budget.period"),
        ("[budget]\nper_key_usd = -1.0\n", "budget.per_key_usd"),
        (
            "[budget]\nsoft_limit_percent = 101\n",
            "budget.soft_limit_percent",
        ),
        (
            "[[auth.jwt]]\nissuer = \"i\"\naudience = \"a\"\n",
            "auth.jwt",
        ),
    ] {
        let err = Config::from_toml_str(text).unwrap_err();
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
}

#[test]
fn mcp_upstreams_run_commands_with_an_explicit_environment() {
    let c = Config::from_toml_str(
        r#"
[mcp]
[[mcp.upstreams]]
name = "fs"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/srv"]
env = { LOG_LEVEL = "debug" }
env_from = ["FS_TOKEN"]
cwd = "/srv"
prefix = false
include_tools = ["read_file"]
[[mcp.upstreams]]
name = "github"
url = "http://127.0.0.1:3000/mcp"
"#,
    )
    .unwrap();
    let mcp = c.mcp.unwrap();
    let fs = &mcp.upstreams[0];
    assert!(!fs.prefixed);
    assert!(mcp.upstreams[1].prefixed, "prefixed unless told otherwise");
    assert_eq!(fs.include_tools, ["read_file"]);
    let McpTarget::Command(cmd) = &fs.target else {
        panic!("a command upstream: {fs:?}")
    };
    assert_eq!(cmd.command, "npx");
    assert_eq!(cmd.args[2], "/srv");
    assert_eq!(cmd.env["LOG_LEVEL"], "debug");
    assert_eq!(cmd.env_from, ["FS_TOKEN"]);
    assert_eq!(cmd.cwd.as_deref(), Some(Path::new("/srv")));
    assert!(matches!(mcp.upstreams[1].target, McpTarget::Url(_)));
    assert_eq!(mcp.allowed_hosts, AllowedHosts::Auto);
}

#[test]
fn mcp_allowed_hosts_are_a_list_or_any() {
    let c = Config::from_toml_str("[mcp]\nallowed_hosts = [\"gw.example.com:*\"]\n").unwrap();
    let hosts = c.mcp.unwrap().allowed_hosts;
    assert_eq!(hosts, AllowedHosts::Only(vec!["gw.example.com:*".into()]));
    let c = Config::from_toml_str("[mcp]\nallowed_hosts = [\"*\"]\n").unwrap();
    assert_eq!(c.mcp.unwrap().allowed_hosts, AllowedHosts::Any);
}

#[test]
fn mcp_upstream_mistakes_name_the_upstream_and_key() {
    for (text, key) in [
        (
            "[[mcp.upstreams]]\nname = \"both\"\nurl = \"http://a/mcp\"\ncommand = \"srv\"\n",
            "mcp.upstreams",
        ),
        ("[[mcp.upstreams]]\nname = \"neither\"\n", "mcp.upstreams"),
        (
            "[[mcp.upstreams]]\nname = \"stray\"\nurl = \"http://a/mcp\"\nargs = [\"-v\"]\n",
            "mcp.upstreams",
        ),
        (
            "[[mcp.upstreams]]\nname = \"tok\"\ncommand = \"srv\"\ntoken_env = \"T\"\n",
            "mcp.upstreams.token_env",
        ),
        (
            "[[mcp.upstreams]]\nname = \"empty\"\ncommand = \"\"\n",
            "mcp.upstreams.command",
        ),
        (
            "[[mcp.upstreams]]\nname = \"eq\"\ncommand = \"srv\"\nenv_from = [\"A=B\"]\n",
            "mcp.upstreams.env",
        ),
        (
            "[[mcp.upstreams]]\nname = \"ws\"\nurl = \"http://a/mcp\"\ntransport = \"websocket\"\n",
            "mcp.upstreams.transport",
        ),
        (
            "[[mcp.upstreams]]\nname = \"tr\"\ncommand = \"srv\"\ntransport = \"sse\"\n",
            "mcp.upstreams.transport",
        ),
    ] {
        let text = format!("[mcp]\n{text}");
        let err = Config::from_toml_str(&text).unwrap_err().to_string();
        let name = &text[text.find("name = \"").unwrap() + 8..];
        let name = &name[..name.find('"').unwrap()];
        assert!(err.contains(key), "{key}: {err}");
        assert!(err.contains(&format!("`{name}`")), "{name}: {err}");
    }
}

#[test]
fn mcp_url_upstreams_choose_their_transport() {
    let config = Config::from_toml_str(
        "[mcp]\n[[mcp.upstreams]]\nname = \"old\"\nurl = \"http://127.0.0.1:9/sse\"\n\
             transport = \"sse\"\n[[mcp.upstreams]]\nname = \"new\"\n\
             url = \"http://127.0.0.1:9/mcp\"\ntransport = \"streamable-http\"\n\
             [[mcp.upstreams]]\nname = \"plain\"\nurl = \"http://127.0.0.1:9/mcp\"\n",
    )
    .unwrap();
    let ups = &config.mcp.as_ref().unwrap().upstreams;
    assert!(matches!(&ups[0].target, McpTarget::Sse(u) if u.path() == "/sse"));
    assert!(matches!(&ups[1].target, McpTarget::Url(_)));
    assert!(matches!(&ups[2].target, McpTarget::Url(_)));
}

#[test]
fn at_most_one_mcp_upstream_is_unprefixed() {
    let err = Config::from_toml_str(
        "[mcp]\n[[mcp.upstreams]]\nname = \"a\"\ndemo = true\nprefix = false\n\
             [[mcp.upstreams]]\nname = \"b\"\ncommand = \"srv\"\nprefix = false\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("mcp.upstreams.prefix"), "{err}");
    assert!(err.contains("`a`, `b`"), "{err}");
}

#[test]
fn the_readme_example_config_is_valid() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("An example configuration with every section:")
        .expect("the README shows an example configuration");
    let block = &readme[start..];
    let block = &block[block.find("```toml\n").expect("a toml block") + 8..];
    let block = &block[..block.find("```").expect("the block ends")];
    let c = Config::from_toml_str(block).unwrap();
    assert_eq!(c.rules.as_ref().map(Vec::len), Some(2));
    assert_eq!(c.auth.jwt.len(), 1);
    assert_eq!(c.store.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
    assert_eq!(c.budget.map(|b| b.period), Some(BudgetPeriod::Monthly));
    let mcp = c.mcp.expect("an [mcp] section");
    let fs = mcp.upstreams.iter().find(|u| u.name == "fs").expect("fs");
    assert!(matches!(fs.target, McpTarget::Command(_)), "{fs:?}");
    let search = mcp.upstreams.iter().find(|u| u.name == "search");
    let search = search.expect("search");
    assert!(
        matches!(&search.target, McpTarget::Pool(p) if p.urls.len() == 2),
        "{search:?}"
    );
    assert!(!fs.prefixed);
    assert!(matches!(mcp.allowed_hosts, AllowedHosts::Only(_)));
    let llm = c.llm.expect("an [llm] section");
    let writes: Vec<_> = llm
        .deployments
        .iter()
        .map(|d| d.cache_write_usd_per_million)
        .collect();
    assert_eq!(writes, [None, None, Some(1.25)]);
    // schema, deny, pii, size, pin, tool_calls, data_schema.
    assert_eq!(c.guardrails.len(), 7);
    let a2a = c.a2a.as_ref().expect("an [a2a] section");
    let built = Guardrails::build_with(&c.guardrails, Some(a2a)).unwrap();
    assert!(built.pins.is_some());
    assert!(built.card_schemas);
    let travel = a2a.agents.iter().find(|a| a.name == "travel").unwrap();
    assert!(travel.data_schemas.is_some());
}

#[test]
fn llm_mistakes_name_their_key() {
    for (text, key) in [
        (
            "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"gemini\"\n",
            "llm.providers.kind",
        ),
        (
            "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"openai\"\n",
            "llm.providers.base_url",
        ),
        (
            "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"demo\"\n[[llm.providers]]\nname = \"p\"\nkind = \"demo\"\n",
            "llm.providers.name",
        ),
        (
            "[llm]\n[[llm.deployments]]\nalias = \"a\"\nprovider = \"nope\"\nmodel = \"m\"\n",
            "llm.deployments[0].provider",
        ),
        (
            "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"demo\"\n[[llm.deployments]]\nalias = \"a\"\nprovider = \"p\"\nmodel = \"m\"\ninput_usd_per_million = -2.0\n",
            "llm.deployments.input_usd_per_million",
        ),
        (
            "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"demo\"\n[[llm.deployments]]\nalias = \"a\"\nprovider = \"p\"\nmodel = \"m\"\ncache_write_usd_per_million = -1.0\n",
            "llm.deployments.cache_write_usd_per_million",
        ),
    ] {
        let err = Config::from_toml_str(text).unwrap_err();
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
}

#[test]
fn front_mistakes_name_their_key() {
    for (text, key) in [
        ("[a2a]\n[[a2a.agents]]\nname = \"x\"\n", "a2a.agents"),
        (
            "[a2a]\n[[a2a.agents]]\nname = \"x\"\ndemo = true\n[[a2a.agents.instances]]\nid = \"i\"\nurl = \"http://a/\"\n",
            "a2a.agents",
        ),
        (
            "[a2a]\n[[a2a.agents]]\nname = \"x\"\n[[a2a.agents.instances]]\nid = \"i\"\nurl = \"http://a/\"\nversion = \"2.0\"\n",
            "a2a.agents.instances.version",
        ),
        ("[a2a]\npath = \"a2a\"\n", "a2a.path"),
        ("[mcp]\npath = \"/\"\n", "mcp.path"),
        ("[mcp]\n[[mcp.upstreams]]\nname = \"x\"\n", "mcp.upstreams"),
        (
            "[mcp]\n[[mcp.upstreams]]\nname = \"x\"\nurl = \"http://a/mcp\"\ndemo = true\n",
            "mcp.upstreams",
        ),
        ("[mcp]\nallowed_hosts = []\n", "mcp.allowed_hosts"),
        (
            "[mcp]\nallowed_hosts = [\"*\", \"gw.example.com\"]\n",
            "mcp.allowed_hosts",
        ),
        (
            "[auth.resource_metadata]\nresource = \"https://gw/mcp\"\nauthorization_servers = []\n",
            "auth.resource_metadata.authorization_servers",
        ),
    ] {
        let err = Config::from_toml_str(text).unwrap_err();
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
}
