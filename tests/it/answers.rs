//! An independent oracle for mention-only sources: how many entities per label the
//! alignment rules must give for a passage's answers, computed by brute force over code
//! points (no shared code with `nerprep::align`).

use std::collections::BTreeMap;

fn word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// Start positions (code points) of `m` in `t` on token boundaries, leftmost-first without
/// self-overlap.
pub fn occurrences(t: &[char], m: &[char]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    if m.is_empty() || m.len() > t.len() {
        return out;
    }
    for i in 0..=t.len() - m.len() {
        if t[i..i + m.len()] != *m || out.last().is_some_and(|&p| p + m.len() > i) {
            continue;
        }
        let edge = |a: Option<&char>, b: Option<&char>| match (a, b) {
            (Some(&a), Some(&b)) => !(word(a) && word(b)) || han(a) || han(b),
            _ => true,
        };
        let before = i.checked_sub(1).and_then(|j| t.get(j));
        if edge(before, t.get(i)) && edge(t.get(i + m.len() - 1), t.get(i + m.len())) {
            out.push(i);
        }
    }
    out
}

/// Entities per label for one passage: a mention listed k > 1 times gives k; a mention
/// listed once gives each occurrence not inside an occurrence of a longer mention of the
/// same label. Panics when an answer names a string the text does not hold verbatim (the
/// real fixtures have none), so a wrong oracle cannot silently agree.
pub fn expected_entities(text: &str, answers: &[(String, Vec<String>)]) -> BTreeMap<String, usize> {
    let t: Vec<char> = text.chars().collect();
    let mut out = BTreeMap::new();
    for (label, mentions) in answers {
        let mut listed: BTreeMap<&str, usize> = BTreeMap::new();
        for m in mentions {
            *listed.entry(m.as_str()).or_default() += 1;
        }
        let mut n = 0;
        for (m, k) in &listed {
            let mc: Vec<char> = m.chars().collect();
            let occ = occurrences(&t, &mc);
            assert!(occ.len() >= *k, "{m:?} listed {k} times, found {} times in {text:?}", occ.len());
            if *k > 1 {
                n += k;
                continue;
            }
            let inside_longer = |start: usize| {
                listed.keys().filter(|l| l.chars().count() > mc.len()).any(|l| {
                    let lc: Vec<char> = l.chars().collect();
                    occurrences(&t, &lc).iter().any(|&s| s < start + mc.len() && start < s + lc.len())
                })
            };
            n += occ.iter().filter(|&&s| !inside_longer(s)).count();
        }
        if n > 0 {
            *out.entry(label.clone()).or_default() += n;
        }
    }
    out
}

/// Adds `b` into `a`.
pub fn add(a: &mut BTreeMap<String, usize>, b: BTreeMap<String, usize>) {
    for (k, v) in b {
        *a.entry(k).or_default() += v;
    }
}
