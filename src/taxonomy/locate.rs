//! Line numbers for entries of a parsed YAML file.
//!
//! `serde_norway` reports the position of an error but keeps no positions for values that
//! parse fine. To name `file:line` in a validation message we parse the text once more with
//! a probe that walks a [`Step`] path and fails on purpose at the node it reaches; the
//! parser attaches that node's position to the error, which is all we read. This costs one
//! parse per located message, and messages are few.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// One step from a node to a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// The value under a mapping key.
    Key(&'a str),
    /// The value of the n-th (0-based) entry of a mapping.
    Entry(usize),
    /// The key of the n-th (0-based) entry of a mapping.
    KeyAt(usize),
    /// The n-th (0-based) element of a sequence.
    Index(usize),
}

const MARKER: &str = "nerprep-locate-probe";

/// The 1-based line of the node at `path` in `text`, or `None` if there is no such node.
pub fn line_of(text: &str, path: &[Step<'_>]) -> Option<usize> {
    let de = serde_norway::Deserializer::from_str(text);
    let probe = Probe { path };
    match probe.deserialize(de) {
        Err(e) if e.to_string().contains(MARKER) => e.location().map(|l| l.line()),
        _ => None,
    }
}

struct Probe<'p, 'a> {
    path: &'p [Step<'a>],
}

impl<'de> DeserializeSeed<'de> for Probe<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Probe<'_, '_> {
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() { Err(E::custom(MARKER)) } else { Ok(()) }
    }
}

impl<'de> Visitor<'de> for Probe<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(MARKER));
        };
        let mut i = 0;
        loop {
            let found = match first {
                Step::Index(n) if *n == i => seq.next_element_seed(Probe { path: rest })?,
                _ => seq.next_element::<IgnoredAny>()?.map(|_| ()),
            };
            if found.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(MARKER));
        };
        let mut i = 0;
        loop {
            if let Step::KeyAt(n) = first
                && *n == i
            {
                return map.next_key_seed(Probe { path: rest }).map(|_| ());
            }
            let Some(key) = map.next_key::<serde_norway::Value>()? else {
                return Ok(());
            };
            let hit = match first {
                Step::Key(k) => key.as_str() == Some(*k),
                Step::Entry(n) => *n == i,
                Step::Index(_) | Step::KeyAt(_) => false,
            };
            if hit {
                map.next_value_seed(Probe { path: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "kind: mapping\narchetypes:\n  Person:\n    - actor\n    - {label: person}\n  Misc: [misc,\n    else]\n";

    #[test]
    fn finds_keys_entries_and_elements() {
        assert_eq!(line_of(TEXT, &[Step::Key("kind")]), Some(1));
        assert_eq!(line_of(TEXT, &[Step::Key("archetypes"), Step::Entry(1)]), Some(6));
        assert_eq!(line_of(TEXT, &[Step::Key("archetypes"), Step::Entry(0)]), Some(4));
        assert_eq!(line_of(TEXT, &[Step::Key("archetypes"), Step::KeyAt(0)]), Some(3));
        assert_eq!(line_of(TEXT, &[Step::Key("archetypes"), Step::Entry(0), Step::Index(1)]), Some(5));
        assert_eq!(line_of(TEXT, &[Step::Key("archetypes"), Step::Key("Misc"), Step::Index(1)]), Some(7));
    }

    #[test]
    fn missing_paths_have_no_line() {
        assert_eq!(line_of(TEXT, &[Step::Key("nope")]), None);
        assert_eq!(line_of(TEXT, &[Step::Key("archetypes"), Step::Entry(0), Step::Index(9)]), None);
        assert_eq!(line_of(TEXT, &[Step::Key("kind"), Step::Index(0)]), None);
    }
}
