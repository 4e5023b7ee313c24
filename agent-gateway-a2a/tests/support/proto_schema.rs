//! A JSON Schema for a message of the normative `a2a.proto`, made the way the A2A TCK makes
//! its schemas: one definition per message in ProtoJSON form (camelCase members, enums by
//! name), `additionalProperties: false`, and the `REQUIRED` field behaviour as `required`.
//! The specs directory holds the 1.0.1 proto, not a JSON schema; this reads it.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The proto, without comments.
fn strip_comments(proto: &str) -> String {
    proto
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `snake_case` to ProtoJSON `camelCase`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The blocks `kind Name { ... }` at the top level (messages or enums), by name.
fn blocks<'a>(proto: &'a str, kind: &str) -> BTreeMap<String, &'a str> {
    let mut out = BTreeMap::new();
    let mut rest = proto;
    let needle = format!("\n{kind} ");
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        let name = after
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let open = after.find('{').expect("a block opens");
        let mut depth = 0;
        let mut end = open;
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.insert(name, &after[open + 1..end]);
        rest = &after[end..];
    }
    out
}

fn scalar(ty: &str, enums: &BTreeMap<String, Vec<String>>) -> Value {
    match ty {
        "string" | "bytes" | "google.protobuf.Timestamp" => json!({"type": "string"}),
        "bool" => json!({"type": "boolean"}),
        "int32" | "uint32" | "sint32" => json!({"type": "integer"}),
        // ProtoJSON writes 64-bit integers as strings, and reads both.
        "int64" | "uint64" | "sint64" => json!({"type": ["integer", "string"]}),
        "double" | "float" => json!({"type": "number"}),
        "google.protobuf.Struct" => json!({"type": "object"}),
        "google.protobuf.Value" => json!({}),
        other => match enums.get(other) {
            Some(names) => json!({"type": "string", "enum": names}),
            None => json!({"$ref": format!("#/$defs/{other}")}),
        },
    }
}

/// The schema of `root` (a message of `proto`), with every message as a definition.
pub fn schema(proto: &str, root: &str) -> Value {
    let proto = format!("\n{}", strip_comments(proto));
    let enums: BTreeMap<String, Vec<String>> = blocks(&proto, "enum")
        .into_iter()
        .map(|(name, body)| {
            let names = body
                .split(';')
                .filter_map(|f| f.split('=').next())
                .map(str::trim)
                .filter(|n| !n.is_empty() && !n.starts_with("option"))
                .map(str::to_owned)
                .collect();
            (name, names)
        })
        .collect();
    let mut defs = Map::new();
    for (name, body) in blocks(&proto, "message") {
        let mut properties = Map::new();
        let mut required = Vec::new();
        // Oneof members are members of the message in ProtoJSON.
        let body = body.replace("oneof", ";oneof").replace(['{', '}'], ";");
        for field in body.split(';') {
            let field = field.trim();
            let Some((decl, _)) = field.split_once('=') else {
                continue;
            };
            let decl = decl.replace(", ", ",");
            let words: Vec<&str> = decl.split_whitespace().collect();
            let (repeated, words) = match words.as_slice() {
                ["repeated", rest @ ..] => (true, rest),
                ["optional", rest @ ..] => (false, rest),
                rest => (false, rest),
            };
            let [ty, field_name] = words else { continue };
            let value = match ty.strip_prefix("map<").and_then(|t| t.strip_suffix('>')) {
                Some(kv) => {
                    let (_, v) = kv.split_once(',').expect("map<K,V>");
                    json!({"type": "object", "additionalProperties": scalar(v.trim(), &enums)})
                }
                None if repeated => json!({"type": "array", "items": scalar(ty, &enums)}),
                None => scalar(ty, &enums),
            };
            let key = camel(field_name);
            if field.contains("REQUIRED") {
                required.push(Value::String(key.clone()));
            }
            properties.insert(key, value);
        }
        defs.insert(
            name,
            json!({"type": "object", "properties": properties, "required": required,
                "additionalProperties": false}),
        );
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/$defs/{root}"),
        "$defs": defs,
    })
}
