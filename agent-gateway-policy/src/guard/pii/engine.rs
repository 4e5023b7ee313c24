//! The scanner: finds the matches of a rule set in a text that may still grow, releasing only
//! what no future text can change.
//!
//! Each detector has a bounded head pattern and a tail pattern anchored at the end of the text
//! that over-approximates "could still grow into a head". A match that starts before the
//! earliest tail is decided by the text at hand (its detector's head is bounded and the text
//! past it does not continue one), so it is redacted and what precedes it released; only the
//! tail waits. A head of an open-ended token swallows the rest of the token as it arrives, and
//! a private-key block swallows everything up to its `END` line, so neither waits either.

use regex::{Regex, RegexSet};

use agent_gateway_core::content::Blocked;

use super::detector::{Detector, Rest};
use super::{Finding, PiiAction, PiiRule};

/// One compiled rule.
#[derive(Debug)]
pub(super) struct Compiled {
    pub(super) id: String,
    pub(super) detector: Detector,
    pub(super) action: PiiAction,
    head: Regex,
    tail: Regex,
    /// The longest text `tail` can match, in bytes: how far back from the end it is run.
    tail_window: usize,
    rest: CompiledRest,
    check: Option<fn(&str) -> bool>,
}

#[derive(Debug)]
enum CompiledRest {
    None,
    Run(fn(char) -> bool),
    Until { end: Regex, max: usize },
}

/// What the scanner is in the middle of, between two pieces of text.
#[derive(Debug, Clone, Copy, Default)]
pub(super) enum Mode {
    /// Looking for matches.
    #[default]
    Scan,
    /// Dropping the rest of a redacted token: every character of this class.
    Swallow(fn(char) -> bool),
    /// Dropping a redacted block up to the end pattern of rule `usize`.
    Until(usize),
}

/// A rule set, compiled once and shared by every filter made from it.
#[derive(Debug)]
pub(super) struct Engine {
    rules: Vec<Compiled>,
    heads: RegexSet,
    /// The most any stream holds back: the longest tail window (plus one character of context).
    pub(super) max_hold: usize,
}

/// The longest match of `pattern`, in bytes. Every built-in pattern is bounded.
fn max_len(pattern: &str) -> usize {
    regex_syntax::parse(pattern)
        .ok()
        .and_then(|hir| hir.properties().maximum_len())
        .unwrap_or(usize::MAX)
}

fn compile(pattern: &str) -> Regex {
    // The patterns are this module's constants; a test compiles every one of them.
    #[allow(clippy::expect_used, reason = "built-in patterns, compiled by a test")]
    Regex::new(pattern).expect("built-in PII pattern")
}

impl Engine {
    pub(super) fn new(rules: &[PiiRule]) -> Engine {
        let mut rules: Vec<&PiiRule> = rules.iter().collect();
        // Ties at the same start go to the more specific detector.
        rules.sort_by_key(|r| Detector::ALL.iter().position(|d| *d == r.detector));
        let compiled: Vec<Compiled> = rules
            .into_iter()
            .map(|rule| {
                let spec = rule.detector.spec();
                Compiled {
                    id: rule.id.clone(),
                    detector: rule.detector,
                    action: rule.action,
                    head: compile(spec.head),
                    tail: compile(spec.tail),
                    tail_window: max_len(spec.tail),
                    rest: match spec.rest {
                        Rest::None => CompiledRest::None,
                        Rest::Run(f) => CompiledRest::Run(f),
                        Rest::Until(end) => CompiledRest::Until {
                            end: compile(end),
                            max: max_len(end),
                        },
                    },
                    check: spec.check,
                }
            })
            .collect();
        #[allow(clippy::expect_used, reason = "the same built-in patterns as above")]
        let heads =
            RegexSet::new(compiled.iter().map(|c| c.head.as_str())).expect("built-in PII patterns");
        let max_hold = compiled
            .iter()
            .map(|c| match &c.rest {
                CompiledRest::Until { max, .. } => c.tail_window.max(*max),
                _ => c.tail_window,
            })
            .max()
            .unwrap_or(0);
        Engine {
            rules: compiled,
            heads,
            max_hold,
        }
    }

    /// The action of the rule `id`, if it is one of this set's.
    pub(super) fn action_of(&self, id: &str) -> Option<PiiAction> {
        self.rules.iter().find(|r| r.id == id).map(|r| r.action)
    }

    /// Whether no head matches anywhere in `text`: the fast path of a clean text.
    pub(super) fn is_clean(&self, text: &str) -> bool {
        !self.heads.is_match(text)
    }

    /// Where the earliest tail starts, at or after `from`: the text from there on may still
    /// grow into a match and is held back.
    fn hold_from(&self, buf: &str, from: usize) -> usize {
        let mut start = buf.len();
        for rule in &self.rules {
            let mut ws = buf.len().saturating_sub(rule.tail_window).max(from);
            while !buf.is_char_boundary(ws) {
                ws -= 1;
            }
            if let Some(m) = rule.tail.find_at(buf, ws) {
                start = start.min(m.start().max(from));
            }
        }
        start
    }

    /// The first accepted match of `rule` starting at or after `from`.
    fn first_match(&self, rule: &Compiled, buf: &str, from: usize) -> Option<(usize, usize)> {
        let mut at = from;
        while at < buf.len() {
            let m = rule.head.find_at(buf, at)?;
            if rule.check.is_none_or(|check| check(m.as_str())) {
                return Some((m.start(), m.end()));
            }
            // Rejected (a checksum failed): look again one character further on.
            at = m.start() + buf[m.start()..].chars().next().map_or(1, char::len_utf8);
        }
        None
    }

    /// Advances over `buf[*pos..]`, appending released text to `out` (or nothing, when `out`
    /// is `None`: a scan), recording matches in `found`. `eof` says no more text will come;
    /// otherwise the tail that may still grow into a match stays at `*pos..`.
    pub(super) fn run(
        &self,
        buf: &str,
        pos: &mut usize,
        mode: &mut Mode,
        eof: bool,
        mut out: Option<&mut String>,
        found: &mut dyn FnMut(Finding),
    ) -> Result<(), Blocked> {
        // Rules whose head matches nowhere from here on are skipped; each live rule's next
        // accepted match is kept until the scan passes it, so each rule's search is one pass.
        let mut live: Vec<(usize, Option<(usize, usize)>)> = Vec::new();
        let mut listed = false;
        loop {
            match *mode {
                Mode::Swallow(class) => {
                    let rest = &buf[*pos..];
                    let n = rest.find(|c| !class(c)).unwrap_or(rest.len());
                    *pos += n;
                    if *pos == buf.len() {
                        return Ok(()); // the token may go on in the next piece
                    }
                    *mode = Mode::Scan;
                }
                Mode::Until(i) => {
                    let CompiledRest::Until { end, max } = &self.rules[i].rest else {
                        *mode = Mode::Scan;
                        continue;
                    };
                    if let Some(m) = end.find_at(buf, *pos) {
                        *pos = m.end();
                        *mode = Mode::Scan;
                        continue;
                    }
                    // Drop all but what could be the start of the end line.
                    let mut keep = buf.len().saturating_sub(*max).max(*pos);
                    while !buf.is_char_boundary(keep) {
                        keep += 1;
                    }
                    *pos = if eof { buf.len() } else { keep };
                    return Ok(());
                }
                Mode::Scan => {
                    let before = if eof {
                        buf.len()
                    } else {
                        self.hold_from(buf, *pos)
                    };
                    if *pos >= before {
                        return Ok(());
                    }
                    if !listed {
                        listed = true;
                        live = self
                            .heads
                            .matches_at(buf, *pos)
                            .into_iter()
                            .map(|i| (i, self.first_match(&self.rules[i], buf, *pos)))
                            .collect();
                    }
                    let mut next: Option<(usize, usize, usize)> = None;
                    for (i, cached) in &mut live {
                        if cached.is_some_and(|(s, _)| s < *pos) {
                            *cached = self.first_match(&self.rules[*i], buf, *pos);
                        }
                        if let Some((s, e)) = *cached
                            && s < before
                            && next.is_none_or(|(ns, _, ni)| (s, *i) < (ns, ni))
                        {
                            next = Some((s, e, *i));
                        }
                    }
                    let Some((start, end, i)) = next else {
                        if let Some(out) = out.as_deref_mut() {
                            out.push_str(&buf[*pos..before]);
                        }
                        *pos = before;
                        return Ok(());
                    };
                    let rule = &self.rules[i];
                    found(Finding {
                        rule_id: rule.id.clone(),
                        detector: rule.detector,
                        range: start..end,
                    });
                    if let Some(out) = out.as_deref_mut() {
                        out.push_str(&buf[*pos..start]);
                        match rule.action {
                            PiiAction::Block => return Err(Blocked::new(rule.id.clone())),
                            PiiAction::Redact => {
                                out.push_str("[REDACTED:");
                                out.push_str(rule.detector.label());
                                out.push(']');
                            }
                            PiiAction::Detect => out.push_str(&buf[start..end]),
                        }
                    }
                    *pos = end;
                    if rule.action != PiiAction::Detect || out.is_none() {
                        *mode = match rule.rest {
                            CompiledRest::None => Mode::Scan,
                            CompiledRest::Run(class) => Mode::Swallow(class),
                            CompiledRest::Until { .. } => Mode::Until(i),
                        };
                    }
                }
            }
        }
    }
}
