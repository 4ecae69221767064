//! B2NER-style hierarchical labels (`parent -> child`, possibly `a -> b -> c`) as a tree.
//!
//! B2NERD names sub-types after their parents (`person -> writer`, `product name -> SUV`).
//! Read as "child is a kind of parent", the labels of a mapping must form a forest: no
//! label may end up its own ancestor. Nodes are label names (segments trimmed, exact case),
//! so a generic child such as `others` under several parents is allowed (and reported).

use std::collections::{BTreeMap, BTreeSet};

/// The separator between a parent and its child in a label.
pub const SEPARATOR: &str = "->";

/// Splits `a -> b -> c` into trimmed segments. `None` for a flat label; `Some(Err(()))`
/// when a segment is empty (`a ->`, `-> b`).
pub fn segments(label: &str) -> Option<Result<Vec<&str>, ()>> {
    if !label.contains(SEPARATOR) {
        return None;
    }
    let parts: Vec<&str> = label.split(SEPARATOR).map(str::trim).collect();
    Some(if parts.iter().any(|p| p.is_empty()) { Err(()) } else { Ok(parts) })
}

/// Parent/child edges between label names, each remembering the first label that gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelTree {
    /// child name -> parent name -> the label that introduced the edge.
    parents: BTreeMap<String, BTreeMap<String, String>>,
    /// parent name -> child names.
    children: BTreeMap<String, BTreeSet<String>>,
}

impl LabelTree {
    /// Adds the edges of one label (flat labels add nothing). Returns false when the label
    /// has an empty segment.
    pub fn add(&mut self, label: &str) -> bool {
        match segments(label) {
            None => true,
            Some(Err(())) => false,
            Some(Ok(parts)) => {
                for w in parts.windows(2) {
                    self.parents
                        .entry(w[1].to_string())
                        .or_default()
                        .entry(w[0].to_string())
                        .or_insert_with(|| label.to_string());
                    self.children.entry(w[0].to_string()).or_default().insert(w[1].to_string());
                }
                true
            }
        }
    }

    /// The children of `name`, sorted.
    pub fn children(&self, name: &str) -> impl Iterator<Item = &str> {
        self.children.get(name).into_iter().flat_map(|c| c.iter().map(String::as_str))
    }

    /// Names with no parent that have children: the roots of the forest, sorted.
    pub fn roots(&self) -> Vec<&str> {
        self.children.keys().filter(|n| !self.parents.contains_key(*n)).map(String::as_str).collect()
    }

    /// Names with more than one parent, with their parents (sorted).
    pub fn multi_parent(&self) -> Vec<(&str, Vec<&str>)> {
        self.parents
            .iter()
            .filter(|(_, p)| p.len() > 1)
            .map(|(c, p)| (c.as_str(), p.keys().map(String::as_str).collect()))
            .collect()
    }

    /// Every parent name used in an edge.
    pub fn parent_names(&self) -> impl Iterator<Item = &str> {
        self.children.keys().map(String::as_str)
    }

    /// The label that introduced the edge `parent -> child`.
    pub fn edge_label(&self, parent: &str, child: &str) -> Option<&str> {
        self.parents.get(child).and_then(|p| p.get(parent)).map(String::as_str)
    }

    /// Every cycle, each as its names in order starting from its smallest name (the first
    /// name is repeated at the end), deduplicated and sorted.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut found = BTreeSet::new();
        let mut state = BTreeMap::<&str, u8>::new(); // 1 = on stack, 2 = done
        for root in self.children.keys() {
            if !state.contains_key(root.as_str()) {
                let mut stack = Vec::new();
                self.visit(root, &mut state, &mut stack, &mut found);
            }
        }
        found.into_iter().collect()
    }

    fn visit<'a>(
        &'a self,
        node: &'a str,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        found: &mut BTreeSet<Vec<String>>,
    ) {
        state.insert(node, 1);
        stack.push(node);
        for child in self.children.get(node).into_iter().flatten() {
            match state.get(child.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| *n == child).unwrap_or(0);
                    found.insert(canonical_cycle(&stack[start..]));
                }
                Some(_) => {}
                None => self.visit(child, state, stack, found),
            }
        }
        stack.pop();
        state.insert(node, 2);
    }
}

/// Rotates a cycle to start at its smallest name and closes it.
fn canonical_cycle(names: &[&str]) -> Vec<String> {
    let min = names.iter().enumerate().min_by_key(|(_, n)| **n).map(|(i, _)| i).unwrap_or(0);
    let mut out: Vec<String> = names[min..].iter().chain(&names[..min]).map(|s| s.to_string()).collect();
    if let Some(first) = out.first().cloned() {
        out.push(first);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_split_and_trim() {
        assert_eq!(segments("person"), None);
        assert_eq!(segments("person -> writer"), Some(Ok(vec!["person", "writer"])));
        assert_eq!(segments("a->b -> c"), Some(Ok(vec!["a", "b", "c"])));
        assert_eq!(segments("a -> "), Some(Err(())));
    }

    #[test]
    fn b2nerd_style_labels_form_a_forest() {
        let mut t = LabelTree::default();
        for l in ["person", "person -> writer", "organization -> others", "person -> others", "product name -> SUV"] {
            assert!(t.add(l));
        }
        assert!(t.cycles().is_empty());
        assert_eq!(t.roots(), vec!["organization", "person", "product name"]);
        assert_eq!(t.multi_parent(), vec![("others", vec!["organization", "person"])]);
        assert_eq!(t.children("person").collect::<Vec<_>>(), vec!["others", "writer"]);
    }

    #[test]
    fn cycles_are_found_once_each() {
        let mut t = LabelTree::default();
        for l in ["b -> c", "c -> a -> b", "x -> x", "y -> z"] {
            t.add(l);
        }
        assert_eq!(
            t.cycles(),
            vec![vec!["a", "b", "c", "a"].into_iter().map(String::from).collect::<Vec<_>>(), vec!["x".to_string(), "x".to_string()]]
        );
        assert_eq!(t.edge_label("a", "b"), Some("c -> a -> b"));
    }
}
