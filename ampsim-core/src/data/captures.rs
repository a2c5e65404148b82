//! Recordings of one rig at several settings of its controls (an amp's knobs), for models
//! conditioned on them: each capture's values read from its file name by a pattern, and
//! normalised to the range the model learns over.

use crate::{Error, Result};

/// A file-name pattern that names the controls: literal text with `{name}` where a number
/// stands, and `*` for any text — e.g. `jvm410h_gain5_b{bass}_m{middle}_t{treble}_take*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern {
    /// Alternating literal text and control names: `literals[i]` comes before `names[i]`;
    /// `literals` has one more entry (the text after the last control).
    literals: Vec<String>,
    names: Vec<String>,
}

impl NamePattern {
    /// Read a pattern; an error if it names no control, names one twice, or leaves a `{` open.
    pub fn new(pattern: &str) -> Result<NamePattern> {
        let (mut literals, mut names, mut rest) = (Vec::new(), Vec::new(), pattern);
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').ok_or_else(|| Error::invalid("pattern", format!("`{pattern}`: a `{{` is not closed")))? + open;
            let name = rest[open + 1..close].trim();
            if name.is_empty() || names.iter().any(|n| n == name) {
                return Err(Error::invalid("pattern", format!("`{pattern}`: control names must be non-empty and distinct")));
            }
            literals.push(rest[..open].to_string());
            names.push(name.to_string());
            rest = &rest[close + 1..];
        }
        literals.push(rest.to_string());
        if names.is_empty() {
            return Err(Error::invalid("pattern", format!("`{pattern}` names no control (write e.g. `b{{bass}}`)")));
        }
        Ok(NamePattern { literals, names })
    }

    /// The controls the pattern names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The control values in `file_stem` (the file name without its extension), in the order
    /// of [`NamePattern::names`]; an error saying where the name departs from the pattern.
    pub fn values(&self, file_stem: &str) -> Result<Vec<f64>> {
        let fail = |why: String| Error::invalid("file name", format!("`{file_stem}` does not fit the pattern: {why}"));
        let mut at = 0;
        let mut values = Vec::with_capacity(self.names.len());
        for (i, name) in self.names.iter().enumerate() {
            at = matches_literal(file_stem, at, &self.literals[i]).ok_or_else(|| fail(format!("no `{}` before {{{name}}}", self.literals[i])))?;
            let len = file_stem[at..].find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(file_stem.len() - at);
            let text = &file_stem[at..at + len];
            values.push(text.parse::<f64>().map_err(|_| fail(format!("`{text}` is not a number for {name}")))?);
            at += len;
        }
        matches_literal(file_stem, at, self.literals.last().map_or("", String::as_str)).ok_or_else(|| fail("the end differs".into()))?;
        Ok(values)
    }
}

/// Match `literal` (where `*` is any text, shortest first) in `s` from `at`; the position after it.
fn matches_literal(s: &str, at: usize, literal: &str) -> Option<usize> {
    let mut parts = literal.split('*');
    let first = parts.next().unwrap_or("");
    let mut pos = at + first.len();
    if !s[at..].starts_with(first) {
        return None;
    }
    let rest: Vec<&str> = parts.collect();
    for (i, part) in rest.iter().enumerate() {
        // After a trailing `*`, everything matches.
        if i + 1 == rest.len() && part.is_empty() {
            return Some(s.len());
        }
        pos = s[pos..].find(part).map(|p| pos + p + part.len())?;
    }
    Some(pos)
}

/// A control's name and the range its values are normalised from (to 0..=1 for the model).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Control {
    pub name: String,
    pub min: f64,
    pub max: f64,
}

impl Control {
    /// `value` as the model reads it: 0 at `min`, 1 at `max`.
    pub fn normalise(&self, value: f64) -> f32 {
        ((value - self.min) / (self.max - self.min)) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_knobs_from_file_names_and_says_what_does_not_fit() {
        let p = NamePattern::new("jvm410h_gain5_b{bass}_m{middle}_t{treble}_take*").unwrap();
        assert_eq!(p.names(), ["bass", "middle", "treble"]);
        assert_eq!(p.values("jvm410h_gain5_b10_m0_t2.5_take9").unwrap(), vec![10.0, 0.0, 2.5]);
        let err = p.values("jvm410h_gain5_b10_x0_t2_take9").unwrap_err().to_string();
        assert!(err.contains("b10_x0") && err.contains("middle"), "{err}");
        assert!(p.values("jvm410h_gain5_b1_m2_t3").is_err(), "no `_take`");
        assert!(NamePattern::new("no controls").is_err() && NamePattern::new("b{bass}_{bass}").is_err() && NamePattern::new("b{bass").is_err());
        let c = Control { name: "treble".into(), min: 0.0, max: 10.0 };
        assert_eq!((c.normalise(0.0), c.normalise(5.0), c.normalise(10.0)), (0.0, 0.5, 1.0));
    }
}
