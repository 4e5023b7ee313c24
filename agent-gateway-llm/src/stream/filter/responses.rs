//! The Responses events of [`FilterText`]: output text deltas, the events that repeat the
//! whole text (`…done`, `response.completed`) and the `sequence_number`s after an extra event.

use agent_gateway_core::sse::Event;
use bytes::BytesMut;
use serde_json::{Value, json};

use super::{FilterText, Open, emit, pass};
use crate::usage::Wire;

impl FilterText {
    /// Shifts a Responses event's `sequence_number` past the extra events sent before it.
    fn renumber(&mut self, v: &mut Value, seq: Option<u64>) {
        if let Some(n) = seq {
            let n = n + self.shift;
            if self.shift > 0 {
                v["sequence_number"] = json!(n);
            }
            self.last_seq = Some(n);
        }
    }

    pub(super) fn responses(&mut self, ev: &Event, kind: &str, mut v: Value, out: &mut BytesMut) {
        self.wire = Some(Wire::Responses);
        let seq = v.get("sequence_number").and_then(Value::as_u64);
        let key = |v: &Value| {
            let id = v
                .get("item_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            (
                id,
                v.get("content_index").and_then(Value::as_u64).unwrap_or(0),
            )
        };
        match kind {
            "response.output_text.delta" => {
                let key = key(&v);
                let other = matches!(&self.open, Some(Open::Responses { key: k, .. }) if *k != key);
                if other && !self.flush(out) {
                    return;
                }
                let text = v
                    .get("delta")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let Some(released) = self.push(&text, out) else {
                    return;
                };
                self.texts
                    .entry(key.clone())
                    .or_default()
                    .push_str(&released);
                v["delta"] = Value::String(released);
                self.open = Some(Open::Responses {
                    key,
                    template: v.clone(),
                });
            }
            "response.output_text.done" | "response.content_part.done" => {
                if !self.flush(out) {
                    return;
                }
                let key = key(&v);
                let path = if kind == "response.output_text.done" {
                    "/text"
                } else {
                    "/part/text"
                };
                if !self.replace_text(&mut v, path, key, out) {
                    return;
                }
            }
            "response.output_item.done" => {
                let replaced = self.flush(out) && self.replace_item(&mut v["item"], out);
                if !replaced {
                    return;
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                if !self.flush(out) {
                    return;
                }
                if let Some(items) = v
                    .pointer_mut("/response/output")
                    .and_then(Value::as_array_mut)
                {
                    for item in items {
                        if !self.replace_item(item, out) {
                            return;
                        }
                    }
                }
            }
            _ if self.shift == 0 || seq.is_none() => {
                self.renumber(&mut v, seq);
                return pass(out, ev);
            }
            _ => {}
        }
        self.renumber(&mut v, seq);
        emit(out, ev, &v);
    }

    /// Puts at `path` in `v` the text the client received for `key`, or, for a text it never
    /// received in pieces, the filtered text. `false` when the filter blocked.
    fn replace_text(
        &mut self,
        v: &mut Value,
        path: &str,
        key: (String, u64),
        out: &mut BytesMut,
    ) -> bool {
        let Some(slot) = v.pointer_mut(path) else {
            return true;
        };
        let Some(text) = slot.as_str().map(str::to_owned) else {
            return true;
        };
        let filtered = match self.texts.get(&key) {
            Some(sent) => sent.clone(),
            None => match self.whole(&text, out) {
                Some(t) => t,
                None => return false,
            },
        };
        if let Some(slot) = v.pointer_mut(path) {
            *slot = Value::String(filtered);
        }
        true
    }

    /// The output texts of one Responses output item.
    fn replace_item(&mut self, item: &mut Value, out: &mut BytesMut) -> bool {
        let id = item
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let Some(parts) = item.get_mut("content").and_then(Value::as_array_mut) else {
            return true;
        };
        for (i, part) in parts.iter_mut().enumerate() {
            if part.get("type").and_then(Value::as_str) == Some("output_text")
                && !self.replace_text(part, "/text", (id.clone(), i as u64), out)
            {
                return false;
            }
        }
        true
    }
}
