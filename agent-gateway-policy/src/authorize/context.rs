//! Binding a request to the CEL variables of the contract: `caller`, `action`, `target`, `args`,
//! `protocol` and `run`.
//!
//! Values borrow from the request wherever CEL allows it: strings of the arguments, the caller
//! and the target are not copied, so a large argument payload is walked once per request to
//! build its CEL shape, and never cloned.

use std::collections::HashMap;
use std::sync::Arc;

use agent_gateway_core::{Action, Caller};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::Val;
use cel::{Context, Env};
use serde_json::Value;

use super::fields::CallerFields;

/// Which of the costly variables any rule of a policy reads, worked out once when the policy
/// is compiled, so that a request whose rules never mention `args` does not pay to convert
/// its arguments.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Needs {
    /// The fields of `caller` the rules read (see [`CallerFields`]).
    pub(crate) caller: CallerFields,
    pub(crate) args: bool,
}

/// What stays the same for every evaluation of one request, including each item of a listing
/// it gets back: who calls, over which protocol, in which run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'v> {
    pub(crate) caller: Option<&'v Caller>,
    pub(crate) protocol: &'static str,
    pub(crate) run: Option<&'v str>,
}

/// What one evaluation asks: an action on a target with arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'v> {
    pub(crate) action: Action,
    pub(crate) target: Option<&'v str>,
    /// `None` binds `args` to the empty map.
    pub(crate) args: Option<&'v Value>,
}

/// A root scope holding the variables that [`Subject`] fixes.
pub(crate) fn subject_scope<'v>(
    env: &Arc<Env>,
    needs: Needs,
    subject: &Subject<'v>,
) -> Context<'v, 'v> {
    let mut ctx = Context::with_env(Arc::clone(env));
    if !needs.caller.is_empty() {
        ctx.add_variable_as_val("caller", caller_val(subject.caller, needs.caller));
    }
    ctx.add_variable_as_val("protocol", string(subject.protocol));
    ctx.add_variable_as_val("run", string(subject.run.unwrap_or("")));
    ctx
}

/// Binds the variables that [`Ask`] sets, in `ctx` (a root or a child scope).
pub(crate) fn bind_ask<'v>(ctx: &mut Context<'_, 'v>, needs: Needs, ask: &Ask<'v>) {
    ctx.add_variable_as_val("action", string(ask.action.as_str()));
    ctx.add_variable_as_val("target", string(ask.target.unwrap_or("")));
    if needs.args {
        let args = match ask.args {
            Some(value) => json_val(value),
            None => Box::new(CelMap::from(HashMap::new())),
        };
        ctx.add_variable_as_val("args", args);
    }
}

fn string<'v>(s: &'v str) -> Box<dyn Val + 'v> {
    Box::new(CelString::from(s))
}

fn string_list<'v>(items: &'v [String]) -> Box<dyn Val + 'v> {
    Box::new(CelList::from(
        items.iter().map(|s| string(s)).collect::<Vec<_>>(),
    ))
}

/// The `caller` map. With no caller established, it is the anonymous caller: the same shape,
/// so that rules read it without `has()` guards, and no roles or scopes, so that it matches
/// nothing a role rule allows. Only the `fields` the rules read are built: a value is made
/// only for a key that is kept.
fn caller_val<'v>(caller: Option<&'v Caller>, fields: CallerFields) -> Box<dyn Val + 'v> {
    let mut map: HashMap<CelMapKey<'v>, Box<dyn Val + 'v>> = HashMap::with_capacity(fields.len());
    let mut put = |key: &'static str, value: &dyn Fn() -> Box<dyn Val + 'v>| {
        if fields.has(key) {
            map.insert(CelMapKey::from(key), value());
        }
    };
    match caller {
        Some(c) => {
            put("subject", &|| string(c.subject()));
            put("issuer", &|| string(c.issuer().unwrap_or("")));
            put("principal", &|| Box::new(CelString::from(c.principal_id())));
            put("tenant", &|| string(c.tenant().unwrap_or("")));
            put("team", &|| string(c.team().unwrap_or("")));
            put("roles", &|| string_list(c.roles()));
            put("scopes", &|| string_list(c.scopes()));
            put("claims", &|| object_val(c.claims()));
            put("method", &|| string(c.method().as_str()));
            put("anonymous", &|| Box::new(CelBool::from(c.is_anonymous())));
        }
        None => {
            put("subject", &|| {
                string(agent_gateway_core::caller::ANONYMOUS_SUBJECT)
            });
            put("issuer", &|| string(""));
            put("principal", &|| {
                Box::new(CelString::from(
                    Caller::anonymous().principal_id().to_owned(),
                ))
            });
            put("tenant", &|| string(""));
            put("team", &|| string(""));
            put("roles", &|| Box::new(CelList::from(Vec::new())));
            put("scopes", &|| Box::new(CelList::from(Vec::new())));
            put("claims", &|| Box::new(CelMap::from(HashMap::new())));
            put("method", &|| string("anonymous"));
            put("anonymous", &|| Box::new(CelBool::from(true)));
        }
    }
    Box::new(CelMap::from(map))
}

fn object_val<'v>(object: &'v serde_json::Map<String, Value>) -> Box<dyn Val + 'v> {
    let map: HashMap<CelMapKey<'v>, Box<dyn Val + 'v>> = object
        .iter()
        .map(|(k, v)| (CelMapKey::from(k.as_str()), json_val(v)))
        .collect();
    Box::new(CelMap::from(map))
}

/// Converts JSON into a CEL value that borrows its strings.
///
/// JSON has one number type and CEL three. An integral number becomes an `int` when it fits
/// (so `args.count == 3` and `args.count > 2` compare with int literals), a `uint` above
/// `i64::MAX`, and anything else a `double`. `null` stays `null`: comparing it with a string
/// is simply false, and calling a string method on it is an evaluation error.
pub(crate) fn json_val(value: &Value) -> Box<dyn Val + '_> {
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Box::new(CelInt::from(i))
            } else if let Some(u) = n.as_u64() {
                Box::new(CelUInt::from(u))
            } else {
                // Without serde_json's `arbitrary_precision`, every number is an f64 here.
                Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Value::String(s) => string(s),
        Value::Array(items) => Box::new(CelList::from(
            items.iter().map(json_val).collect::<Vec<_>>(),
        )),
        Value::Object(object) => object_val(object),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str, args: &Value, caller: Option<&Caller>) -> Result<cel::Value, String> {
        let env = Arc::new(Env::stdlib());
        let program = env.compile(expr).map_err(|e| e.to_string())?;
        // Only the fields the expression reads, as a compiled policy binds them.
        let needs = Needs {
            caller: CallerFields::of(program.expression()),
            args: true,
        };
        let subject = Subject {
            caller,
            protocol: "mcp",
            run: None,
        };
        let mut ctx = subject_scope(&env, needs, &subject);
        let ask = Ask {
            action: Action::ToolCall,
            target: Some("fs.read"),
            args: Some(args),
        };
        bind_ask(&mut ctx, needs, &ask);
        program.execute(&ctx).map_err(|e| e.to_string())
    }

    #[test]
    fn json_numbers_keep_their_kind() {
        let args = json!({"i": 3, "neg": -2, "big": u64::MAX, "f": 1.5, "n": null});
        for expr in [
            "args.i == 3",
            "args.i > 2",
            "type(args.i) == int",
            "args.neg < 0",
            "type(args.big) == uint",
            "args.big == 18446744073709551615u",
            "args.f == 1.5",
            "type(args.f) == double",
            "args.n == null",
            "args.n != 'x'",
        ] {
            assert_eq!(
                eval(expr, &args, None),
                Ok(cel::Value::Bool(true)),
                "{expr}"
            );
        }
        assert!(eval("args.n.startsWith('x')", &args, None).is_err());
        assert!(eval("args.missing == 1", &args, None).is_err());
    }

    #[test]
    fn nested_lists_and_maps() {
        let args = json!({"paths": ["/data/a", "/data/b"], "opts": {"deep": {"x": true}}});
        for expr in [
            "args.paths.all(p, p.startsWith('/data/'))",
            "size(args.paths) == 2",
            "args.opts.deep.x",
            "has(args.opts.deep) && !has(args.opts.shallow)",
        ] {
            assert_eq!(
                eval(expr, &args, None),
                Ok(cel::Value::Bool(true)),
                "{expr}"
            );
        }
    }

    #[test]
    fn caller_map_and_anonymous_default() {
        let caller = Caller::new("alice")
            .with_team("billing")
            .with_role("admin")
            .with_scope("tools:call")
            .with_claim("level", json!(4));
        let ok = |expr| eval(expr, &json!({}), Some(&caller));
        assert_eq!(ok("caller.subject == 'alice'"), Ok(true.into()));
        assert_eq!(
            ok("caller.issuer == '' && caller.principal == 'custom:::alice'"),
            Ok(true.into())
        );
        let jwt = Caller::new("alice")
            .with_method(agent_gateway_core::caller::AuthMethod::Jwt)
            .with_issuer("https://idp.example");
        assert_eq!(
            eval(
                "caller.issuer == 'https://idp.example' && caller.principal != 'custom:::alice'",
                &json!({}),
                Some(&jwt)
            ),
            Ok(true.into())
        );
        assert_eq!(
            ok("'admin' in caller.roles && caller.team == 'billing'"),
            Ok(true.into())
        );
        assert_eq!(
            ok("caller.claims.level >= 4 && caller.tenant == ''"),
            Ok(true.into())
        );
        assert_eq!(
            ok("caller.method == 'custom' && !caller.anonymous"),
            Ok(true.into())
        );
        assert_eq!(
            ok("action == 'tool_call' && target == 'fs.read'"),
            Ok(true.into())
        );
        assert_eq!(ok("protocol == 'mcp' && run == ''"), Ok(true.into()));
        // A rule that uses the map as a whole gets all of it; one that selects, its fields.
        assert_eq!(
            ok("size(caller) == 10 && 'claims' in caller"),
            Ok(true.into())
        );
        assert_eq!(ok("has(caller.team) && !has(caller.nope)"), Ok(true.into()));

        let anon = |expr| eval(expr, &json!({}), None);
        assert_eq!(
            anon("caller.anonymous && size(caller.roles) == 0"),
            Ok(true.into())
        );
        assert_eq!(anon("caller.subject == 'anonymous'"), Ok(true.into()));
        assert_eq!(anon("size(caller) == 10"), Ok(true.into()));
        assert_eq!(
            anon("caller.principal == 'anonymous:::anonymous'"),
            Ok(true.into())
        );
    }
}
