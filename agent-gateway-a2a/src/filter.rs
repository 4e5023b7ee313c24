//! A guardrail's [`TextFilter`] over the text parts of A2A results, whole or streamed.
//!
//! Text parts are found wherever a result holds `parts` (a message, a task's history and
//! artifacts, a status message, an artifact update), in both protocol versions (`{"text": …}`
//! and 0.3's `{"kind": "text", "text": …}`). On a stream, the parts of one artifact's
//! successive `append` chunks are one text: a match spanning two chunks is caught, and what the
//! filter holds back goes out in that artifact's next chunk, or, when the artifact ends
//! (`lastChunk`) in its last one, or when another event comes first, in one extra chunk of that
//! artifact. Every other text part is filtered on its own.

use std::collections::VecDeque;

use agent_gateway_core::Denied;
use agent_gateway_core::content::{Blocked, TextFilter};
use serde_json::{Value, json};

use crate::error::A2aError;

/// The error a block ends a stream with: the denial, rendered as the front renders any.
pub(crate) fn blocked_error(blocked: &Blocked) -> A2aError {
    A2aError::Denied(Denied::guardrail_blocked(blocked.rule_id()))
}

/// Whether `part` is a text part, in either version.
fn is_text(part: &Value) -> bool {
    part.get("text").is_some_and(Value::is_string) && part.get("kind").is_none_or(|k| k == "text")
}

/// Hands `f` the content of every part in `value`: a text part's `text`, a data part's `data`
/// (1.0 `{"data": …}` and 0.3 `{"kind": "data", "data": …}`).
pub(crate) fn each_part_content(value: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    match value {
        Value::Object(obj) => {
            for (key, v) in obj.iter_mut() {
                match v {
                    Value::Array(parts) if key == "parts" => {
                        for part in parts.iter_mut() {
                            if is_text(part) {
                                f(&mut part["text"]);
                            } else if part.get("kind").is_none_or(|k| k == "data")
                                && let Some(data) = part.get_mut("data")
                            {
                                f(data);
                            }
                        }
                    }
                    _ => each_part_content(v, f),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| each_part_content(v, f)),
        _ => {}
    }
}

/// Filters every text part in `value`, each as a whole text; whether one changed.
pub(crate) fn filter_parts(
    value: &mut Value,
    filter: &mut dyn TextFilter,
) -> Result<bool, Blocked> {
    let mut changed = false;
    match value {
        Value::Object(obj) => {
            for (key, v) in obj.iter_mut() {
                if key == "parts"
                    && let Value::Array(parts) = v
                {
                    for part in parts.iter_mut().filter(|p| is_text(p)) {
                        let text = part["text"].as_str().unwrap_or_default();
                        let mut out = String::with_capacity(text.len());
                        filter.push(text, &mut out)?;
                        filter.finish(&mut out)?;
                        if out != text {
                            part["text"] = Value::String(out);
                            changed = true;
                        }
                    }
                } else {
                    changed |= filter_parts(v, filter)?;
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                changed |= filter_parts(v, filter)?;
            }
        }
        _ => {}
    }
    Ok(changed)
}

/// The artifact whose text the filter is in the middle of.
#[derive(Debug)]
struct Open {
    artifact_id: String,
    task_id: Value,
    context_id: Value,
    /// Whether the stream speaks 0.3 (`kind` members).
    v03: bool,
}

/// The text stage of an A2A event stream.
pub(crate) struct TextStage {
    filter: Box<dyn TextFilter>,
    open: Option<Open>,
}

impl std::fmt::Debug for TextStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextStage")
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

/// The artifact update in a result: 1.0's `artifactUpdate` member, or the 0.3 event itself.
fn artifact_update(v: &mut Value) -> Option<(&mut Value, bool)> {
    if v.get("kind").is_some_and(|k| k == "artifact-update") {
        return Some((v, true));
    }
    v.get_mut("artifactUpdate").map(|au| (au, false))
}

impl TextStage {
    pub(crate) fn new(filter: Box<dyn TextFilter>) -> Self {
        TextStage { filter, open: None }
    }

    /// Takes one result and queues what the client gets for it.
    pub(crate) fn event(
        &mut self,
        mut v: Value,
        out: &mut VecDeque<Value>,
    ) -> Result<(), A2aError> {
        self.step(&mut v, out).map_err(|b| blocked_error(&b))?;
        out.push_back(v);
        Ok(())
    }

    fn step(&mut self, v: &mut Value, out: &mut VecDeque<Value>) -> Result<(), Blocked> {
        let Some((au, v03)) = artifact_update(v) else {
            self.flush(out)?;
            filter_parts(v, self.filter.as_mut())?;
            return Ok(());
        };
        let id = au
            .pointer("/artifact/artifactId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let append = au.get("append").and_then(Value::as_bool) == Some(true);
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.artifact_id != id || !append)
        {
            self.flush(out)?;
        }
        let Some(parts) = au
            .pointer_mut("/artifact/parts")
            .and_then(Value::as_array_mut)
        else {
            return Ok(());
        };
        let mut last_text = None;
        for (i, part) in parts.iter_mut().enumerate().filter(|(_, p)| is_text(p)) {
            let mut released = String::new();
            self.filter
                .push(part["text"].as_str().unwrap_or_default(), &mut released)?;
            part["text"] = Value::String(released);
            last_text = Some(i);
        }
        if au.get("lastChunk").and_then(Value::as_bool) == Some(true) {
            self.open = None;
            let mut tail = String::new();
            self.filter.finish(&mut tail)?;
            if !tail.is_empty() {
                let parts = au
                    .pointer_mut("/artifact/parts")
                    .and_then(Value::as_array_mut);
                match (parts, last_text) {
                    (Some(parts), Some(i)) => {
                        let text = parts[i]["text"].as_str().unwrap_or_default().to_owned();
                        parts[i]["text"] = Value::String(text + &tail);
                    }
                    (Some(parts), None) => parts.push(text_part(&tail, v03)),
                    (None, _) => {}
                }
            }
        } else if last_text.is_some() || self.open.is_some() {
            self.open = Some(Open {
                artifact_id: id,
                task_id: au.get("taskId").cloned().unwrap_or(Value::Null),
                context_id: au.get("contextId").cloned().unwrap_or(Value::Null),
                v03,
            });
        }
        Ok(())
    }

    /// Ends the open artifact's text: what the filter still held goes out in one more chunk.
    fn flush(&mut self, out: &mut VecDeque<Value>) -> Result<(), Blocked> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let mut tail = String::new();
        self.filter.finish(&mut tail)?;
        if tail.is_empty() {
            return Ok(());
        }
        let update = json!({
            "taskId": open.task_id,
            "contextId": open.context_id,
            "artifact": {"artifactId": open.artifact_id, "parts": [text_part(&tail, open.v03)]},
            "append": true,
            "lastChunk": false,
        });
        out.push_back(if open.v03 {
            let mut update = update;
            update["kind"] = "artifact-update".into();
            update
        } else {
            json!({"artifactUpdate": update})
        });
        Ok(())
    }

    /// The stream ended: queues what is still held.
    pub(crate) fn finish(&mut self, out: &mut VecDeque<Value>) -> Result<(), A2aError> {
        self.flush(out).map_err(|b| blocked_error(&b))
    }
}

fn text_part(text: &str, v03: bool) -> Value {
    if v03 {
        json!({"kind": "text", "text": text})
    } else {
        json!({"text": text})
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
