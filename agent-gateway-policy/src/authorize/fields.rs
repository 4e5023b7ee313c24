//! Which fields of the `caller` map a policy's rules read, worked out once when it is compiled.
//!
//! A rule that only ever selects fields (`caller.team`, `has(caller.tenant)`,
//! `'admin' in caller.roles`) is evaluated against a map holding just those fields: the same
//! answers, since a field the rules never name cannot change them, for a fraction of the
//! allocations (the full map is ten entries, two lists and the claims, rebuilt per request).
//! Any other use of `caller` (the whole map compared, iterated, indexed with `[]`, passed to a
//! function, or the name shadowed by a comprehension variable) needs the whole map.

use cel::common::ast::{EntryExpr, Expr};
use cel::parser::Expression;

/// The fields of the `caller` map, in the order of the bits of [`CallerFields`].
pub(crate) const CALLER_FIELDS: [&str; 10] = [
    "subject",
    "issuer",
    "principal",
    "tenant",
    "team",
    "roles",
    "scopes",
    "claims",
    "method",
    "anonymous",
];

/// A set of the `caller` map's fields; empty when no rule reads `caller`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CallerFields(u16);

impl CallerFields {
    /// Every field: the whole map.
    pub(crate) const ALL: CallerFields = CallerFields((1 << CALLER_FIELDS.len()) - 1);

    /// The fields `expr` reads.
    pub(crate) fn of(expr: &Expression) -> CallerFields {
        let mut fields = CallerFields::default();
        fields.walk(expr);
        fields
    }

    /// Whether no field is read.
    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `field` is in the set.
    pub(crate) fn has(self, field: &str) -> bool {
        CALLER_FIELDS
            .iter()
            .position(|f| *f == field)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// How many fields are in the set.
    pub(crate) fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    fn walk(&mut self, expr: &Expression) {
        if *self == CallerFields::ALL {
            return;
        }
        match &expr.expr {
            Expr::Select(select) => match &select.operand.expr {
                Expr::Ident(name) if name == "caller" => {
                    // A field outside the contract is in neither map: no bit needed.
                    if let Some(i) = CALLER_FIELDS.iter().position(|f| *f == select.field) {
                        self.0 |= 1 << i;
                    }
                }
                _ => self.walk(&select.operand),
            },
            Expr::Ident(name) if name == "caller" => *self = CallerFields::ALL,
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.walk(target);
                }
                call.args.iter().for_each(|a| self.walk(a));
            }
            Expr::Comprehension(c) => {
                let shadows = [Some(&c.iter_var), c.iter_var2.as_ref(), Some(&c.accu_var)]
                    .into_iter()
                    .flatten()
                    .any(|v| v == "caller");
                if shadows {
                    *self = CallerFields::ALL;
                    return;
                }
                for e in [
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ] {
                    self.walk(e);
                }
            }
            Expr::List(list) => list.elements.iter().for_each(|e| self.walk(e)),
            Expr::Map(map) => map.entries.iter().for_each(|e| self.walk_entry(&e.expr)),
            Expr::Struct(s) => s.entries.iter().for_each(|e| self.walk_entry(&e.expr)),
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    fn walk_entry(&mut self, entry: &EntryExpr) {
        match entry {
            EntryExpr::StructField(f) => self.walk(&f.value),
            EntryExpr::MapEntry(m) => {
                self.walk(&m.key);
                self.walk(&m.value);
            }
        }
    }
}

impl std::ops::BitOrAssign for CallerFields {
    fn bitor_assign(&mut self, rhs: CallerFields) {
        self.0 |= rhs.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(expr: &str) -> CallerFields {
        let program = cel::Env::stdlib().compile(expr).unwrap();
        CallerFields::of(program.expression())
    }

    fn names(f: CallerFields) -> Vec<&'static str> {
        CALLER_FIELDS.into_iter().filter(|n| f.has(n)).collect()
    }

    #[test]
    fn selected_fields_only_when_every_use_is_a_selection() {
        assert!(fields("action == 'tool_call'").is_empty());
        assert_eq!(
            names(fields("!caller.anonymous && caller.team == 'perf'")),
            ["team", "anonymous"]
        );
        assert_eq!(names(fields("has(caller.tenant)")), ["tenant"]);
        assert_eq!(names(fields("'admin' in caller.roles")), ["roles"]);
        assert_eq!(names(fields("caller.claims.org == 'x'")), ["claims"]);
        assert_eq!(
            names(fields("[1].all(x, 'reader' in caller.scopes)")),
            ["scopes"]
        );
        // A field outside the contract needs no entry: it is missing from the whole map too.
        assert!(fields("caller.nope == 1").is_empty());
    }

    #[test]
    fn any_other_use_needs_the_whole_map() {
        for expr in [
            "caller == {}",
            "size(caller) == 10",
            "'team' in caller",
            "caller['team'] == 'perf'",
            "caller.exists(k, k == 'team')",
            "[{'team': 'a'}].all(caller, caller.team == 'a')",
            "{'c': caller}.c.team == 'perf'",
        ] {
            assert_eq!(fields(expr), CallerFields::ALL, "{expr}");
        }
    }
}
