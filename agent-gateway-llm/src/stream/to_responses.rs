use bytes::BytesMut;
use serde_json::{Value, json};

use agent_gateway_core::sse::Event;

use super::chat_events::{self, ChatEvent};
use super::transform::{Transform, named_event};
use crate::translate::{
    function_item, incomplete_reason, message_item, refusal_item, response_object, usage_object,
};

/// Chat Completions chunks → Responses stream events, for a Responses client served by a
/// provider with Chat Completions only.
///
/// The run of a text answer is `response.created`, `response.in_progress`,
/// `response.output_item.added`, `response.content_part.added`, `response.output_text.delta`…,
/// `response.output_text.done`, `response.content_part.done`, `response.output_item.done`,
/// then `response.completed` with the whole response and its usage (`response.incomplete`
/// when the answer hit its token limit or the provider's content filter). A tool call is an output item of its own, its
/// arguments `response.function_call_arguments.delta`s. Every event is named and numbered
/// (`sequence_number`). A `delta.refusal` is a message of its own with a `refusal` part
/// (`response.refusal.delta`…, `response.refusal.done`). The text and arguments of the answer are kept, since the final event
/// carries the whole response; the bytes still go out as they come.
#[derive(Debug, Clone, Default)]
pub struct ChatToResponses {
    id: String,
    model: String,
    created: u64,
    seq: u64,
    started: bool,
    /// Finished output items.
    output: Vec<Value>,
    open: Option<Open>,
    /// Why the response is incomplete, if it is.
    incomplete: Option<&'static str>,
    finish_seen: bool,
    usage: Option<Value>,
    finished: bool,
}

#[derive(Debug, Clone)]
enum Open {
    Text {
        id: String,
        text: String,
    },
    /// A message whose content is the model's refusal (a `refusal` part).
    Refusal {
        id: String,
        text: String,
    },
    Call {
        tool: u64,
        call_id: String,
        name: String,
        arguments: String,
    },
}

impl ChatToResponses {
    /// A transform.
    pub fn new() -> Self {
        ChatToResponses::default()
    }

    fn emit(&mut self, out: &mut BytesMut, kind: &str, mut v: Value) {
        v["type"] = Value::from(kind);
        v["sequence_number"] = Value::from(self.seq);
        self.seq += 1;
        named_event(out, kind, &v);
    }

    fn response(&self, usage: Option<Value>) -> Value {
        response_object(
            &self.id,
            self.created,
            &self.model,
            self.output.clone(),
            usage,
            self.incomplete,
        )
    }

    fn start(&mut self, chunk: &Value, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let id = chunk.get("id").and_then(Value::as_str).unwrap_or("gateway");
        self.id = format!("resp_{id}");
        self.model = chunk
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.created = chunk.get("created").and_then(Value::as_u64).unwrap_or(0);
        let response = self.response(None);
        self.emit(out, "response.created", json!({"response": response}));
        self.emit(out, "response.in_progress", json!({"response": response}));
    }

    fn open(&mut self, out: &mut BytesMut, open: Open) {
        self.close_item(out);
        let index = self.output.len();
        match &open {
            Open::Text { id, .. } => {
                let mut item = message_item(id, "", "in_progress");
                item["content"] = json!([]);
                self.emit(
                    out,
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                );
                self.emit(out, "response.content_part.added", json!({"item_id": id, "output_index": index,
                    "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}));
            }
            Open::Refusal { id, .. } => {
                let mut item = message_item(id, "", "in_progress");
                item["content"] = json!([]);
                self.emit(
                    out,
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                );
                self.emit(
                    out,
                    "response.content_part.added",
                    json!({"item_id": id, "output_index": index,
                    "content_index": 0, "part": {"type": "refusal", "refusal": ""}}),
                );
            }
            Open::Call { call_id, name, .. } => {
                let item = function_item(call_id, name, "", "in_progress");
                self.emit(
                    out,
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                );
            }
        }
        self.open = Some(open);
    }

    fn close_item(&mut self, out: &mut BytesMut) {
        let index = self.output.len();
        let item = match self.open.take() {
            None => return,
            Some(Open::Text { id, text }) => {
                self.emit(
                    out,
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index,
                    "content_index": 0, "text": text, "logprobs": []}),
                );
                self.emit(out, "response.content_part.done", json!({"item_id": id, "output_index": index,
                    "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": []}}));
                message_item(&id, &text, "completed")
            }
            Some(Open::Refusal { id, text }) => {
                self.emit(
                    out,
                    "response.refusal.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "refusal": text}),
                );
                let part = json!({"type": "refusal", "refusal": text});
                self.emit(
                    out,
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index,
                    "content_index": 0, "part": part}),
                );
                refusal_item(&id, &text, "completed")
            }
            Some(Open::Call {
                call_id,
                name,
                arguments,
                ..
            }) => {
                self.emit(
                    out,
                    "response.function_call_arguments.done",
                    json!({"item_id": format!("fc_{call_id}"),
                    "output_index": index, "name": name, "arguments": arguments}),
                );
                function_item(&call_id, &name, &arguments, "completed")
            }
        };
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        );
        self.output.push(item);
    }

    fn text(&mut self, piece: &str, out: &mut BytesMut) {
        if !matches!(self.open, Some(Open::Text { .. })) {
            let id = format!("msg_{}", self.output.len());
            self.open(
                out,
                Open::Text {
                    id,
                    text: String::new(),
                },
            );
        }
        let index = self.output.len();
        if let Some(Open::Text { id, text }) = &mut self.open {
            text.push_str(piece);
            let id = id.clone();
            self.emit(
                out,
                "response.output_text.delta",
                json!({"item_id": id, "output_index": index,
                "content_index": 0, "delta": piece, "logprobs": []}),
            );
        }
    }

    fn refusal(&mut self, piece: &str, out: &mut BytesMut) {
        if !matches!(self.open, Some(Open::Refusal { .. })) {
            let id = format!("msg_{}", self.output.len());
            self.open(
                out,
                Open::Refusal {
                    id,
                    text: String::new(),
                },
            );
        }
        let index = self.output.len();
        if let Some(Open::Refusal { id, text }) = &mut self.open {
            text.push_str(piece);
            let id = id.clone();
            self.emit(
                out,
                "response.refusal.delta",
                json!({"item_id": id, "output_index": index, "content_index": 0, "delta": piece}),
            );
        }
    }

    fn tool_fragment(&mut self, fragment: &Value, out: &mut BytesMut) {
        let tool = fragment.get("index").and_then(Value::as_u64).unwrap_or(0);
        let same = matches!(&self.open, Some(Open::Call { tool: t, .. }) if *t == tool)
            && fragment.get("id").is_none();
        if !same {
            let call_id = fragment
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let name = fragment
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            self.open(
                out,
                Open::Call {
                    tool,
                    call_id,
                    name,
                    arguments: String::new(),
                },
            );
        }
        let Some(piece) = fragment
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
        else {
            return;
        };
        let index = self.output.len();
        if let Some(Open::Call {
            call_id, arguments, ..
        }) = &mut self.open
        {
            arguments.push_str(piece);
            let item_id = format!("fc_{call_id}");
            self.emit(
                out,
                "response.function_call_arguments.delta",
                json!({"item_id": item_id,
                "output_index": index, "delta": piece}),
            );
        }
    }

    fn complete(&mut self, out: &mut BytesMut) {
        self.finished = true;
        self.close_item(out);
        let usage = self.usage.take().unwrap_or_else(|| usage_object(0, 0, 0));
        let kind = if self.incomplete.is_some() {
            "response.incomplete"
        } else {
            "response.completed"
        };
        let response = self.response(Some(usage));
        self.emit(out, kind, json!({"response": response}));
    }
}

impl ChatToResponses {
    fn chat(&mut self, event: ChatEvent<'_>, out: &mut BytesMut) {
        match event {
            ChatEvent::Start(chunk) => self.start(chunk, out),
            ChatEvent::Usage(u) => {
                self.usage = Some(usage_object(u.prompt, u.cached, u.completion))
            }
            ChatEvent::Text(text) => self.text(text, out),
            ChatEvent::Refusal(text) => self.refusal(text, out),
            ChatEvent::ToolFragment(fragment) => self.tool_fragment(fragment, out),
            ChatEvent::Finish(finish) => {
                self.close_item(out);
                self.finish_seen = true;
                self.incomplete = incomplete_reason(finish);
            }
            ChatEvent::Done => self.complete(out),
            ChatEvent::Error(message) => self.error(message, out),
        }
    }
}

impl Transform for ChatToResponses {
    fn event(&mut self, event: &Event, out: &mut BytesMut) {
        if !self.finished {
            chat_events::parse(event, |e| self.chat(e, out));
        }
    }

    fn finish(&mut self, complete: bool, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        if complete && self.finish_seen {
            self.complete(out);
        } else {
            self.error("upstream stream ended before its end", out);
        }
    }

    fn error(&mut self, message: &str, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.emit(
            out,
            "error",
            json!({"code": "server_error", "message": message, "param": null}),
        );
    }
}
