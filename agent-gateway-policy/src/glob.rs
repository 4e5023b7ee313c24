//! Target patterns (authorize's allow/deny list sugar, guardrail scopes): `*` matches any run of characters (dots
//! included), everything else matches itself.

/// A pattern split at its `*`s once, so that matching allocates nothing.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    prefix: String,
    middle: Vec<String>,
    /// `None` when the pattern has no `*` and must equal the text.
    suffix: Option<String>,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Self {
        let mut parts = pattern.split('*');
        let prefix = parts.next().unwrap_or_default().to_owned();
        let mut rest: Vec<String> = parts.map(str::to_owned).collect();
        let suffix = rest.pop();
        Glob {
            prefix,
            middle: rest,
            suffix,
        }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let Some(mut rest) = text.strip_prefix(self.prefix.as_str()) else {
            return false;
        };
        let Some(suffix) = &self.suffix else {
            return rest.is_empty();
        };
        // Leftmost matches leave the most text for the parts after them, so greedy is exact.
        for part in &self.middle {
            match rest.find(part.as_str()) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.ends_with(suffix.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn star_matches_any_run() {
        let cases = [
            ("fs.read_*", "fs.read_file", true),
            ("fs.read_*", "fs.read_", true),
            ("fs.read_*", "fs.write_file", false),
            ("fs.read_*", "xfs.read_file", false),
            ("*", "anything.at.all", true),
            ("*", "", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("*.delete_*", "fs.delete_all", true),
            ("*.delete_*", "fs.remove", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxcyyb", false),
            ("a**c", "abc", true),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(Glob::new(pattern).matches(text), want, "{pattern} ~ {text}");
        }
    }
}
