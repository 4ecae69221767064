//! B2NER's scorer, reimplemented: what `EvaluatorNER` in `src/evaluation/evaluator.py` of
//! UmeanNever/B2NER computes, so that a score can be set beside the B2NER paper's numbers
//! (issue 19).
//!
//! The unit is one instance (one prediction record). Its gold answer is built as B2NER's data
//! loader builds `ground_truth` (` label: mention; label: mention`, or ` None`), and both gold
//! and prediction are read by the same rules: the whole answer is formatted ([`format`]),
//! split on `;`, each piece formatted again, and the pieces that contain a `:` form a set of
//! `label:mention` items. TP, FP and FN are the sizes of the set intersection and
//! differences, summed over instances; precision, recall and F1 are micro-averaged.
//!
//! Quirks reproduced: a mention containing `;` is cut in two there, in gold and prediction
//! alike (the piece without `:` is dropped); `located` and `organisation` are replaced
//! anywhere in the item, also inside a mention; a mention listed twice counts once (sets);
//! brackets and book-title marks are stripped only around the part after the **last** `:`.

use super::metrics::Tally;
use super::uniner::is_py_space;
use std::collections::BTreeSet;

/// The answer B2NER's loader writes when an instance has no entity.
const NONE_ANSWER: &str = " None";

/// Characters around which B2NER removes whitespace (`_remove_redundant_space`).
const TIGHT: [char; 9] = [',', ':', '(', ')', '.', '_', ';', '\'', '-'];

/// Brackets stripped around a mention (`^[《》<>（）()]+(.+?)[《》<>（）()]+$`).
const BRACKETS: [char; 8] = ['《', '》', '<', '>', '（', '）', '(', ')'];

/// `_remove_redundant_space`: runs of whitespace become one space, and a space next to one of
/// [`TIGHT`] is removed.
fn remove_redundant_space(s: &str) -> String {
    let collapsed = s.split(is_py_space).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = collapsed.chars().collect();
    let mut out = String::with_capacity(collapsed.len());
    for (i, &c) in chars.iter().enumerate() {
        let next_to_tight = (i > 0 && TIGHT.contains(&chars[i - 1])) || chars.get(i + 1).is_some_and(|n| TIGHT.contains(n));
        if !(c == ' ' && next_to_tight) {
            out.push(c);
        }
    }
    out
}

/// Replaces every run of `c` with one `c` (`re.sub('c+', 'c')`).
fn collapse_runs(s: &str, c: char) -> String {
    let mut out = String::with_capacity(s.len());
    let mut previous = None;
    for ch in s.chars() {
        if !(ch == c && previous == Some(c)) {
            out.push(ch);
        }
        previous = Some(ch);
    }
    out
}

/// The first `《…》` with at least one character inside (`re.findall(r'《(.+?)》')[0]`).
fn first_book_title(s: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(open) = s[from..].find('《').map(|k| k + from) {
        let inner = open + '《'.len_utf8();
        let mut rest = s[inner..].char_indices();
        if let Some((_, first)) = rest.next() {
            let after_first = inner + first.len_utf8();
            if let Some(close) = s[after_first..].find('》') {
                return Some(&s[inner..after_first + close]);
            }
        }
        from = inner;
    }
    None
}

/// The text inside a leading and a trailing run of [`BRACKETS`], when the text has both and
/// something between them; the regex's backtracking made explicit (see the tests).
fn inside_brackets(s: &str) -> Option<&str> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let n = chars.len();
    let is_bracket = |i: usize| BRACKETS.contains(&chars[i].1);
    let lead = (0..n).take_while(|&i| is_bracket(i)).count();
    let trail_start = (0..n).rev().take_while(|&i| is_bracket(i)).last().unwrap_or(n);
    // The greedy leading run gives back characters until a non-empty middle and a non-empty
    // trailing run fit: the middle starts at `i` and ends where the trailing run starts.
    let (start, end) = (1..=lead.min(n)).rev().find_map(|i| {
        let end = (i + 1).max(trail_start);
        (end < n).then_some((i, end))
    })?;
    let byte = |i: usize| chars.get(i).map_or(s.len(), |c| c.0);
    Some(&s[byte(start)..byte(end)])
}

/// B2NER's formatting of the part after the last `:`: `@`/`#` trimmed at both ends, the first
/// `《…》` taken, then surrounding brackets stripped.
fn clean_mention(last: &str) -> String {
    let trimmed = last.trim_start_matches(['@', '#']).trim_end_matches(['@', '#']);
    let titled = first_book_title(trimmed).unwrap_or(trimmed);
    inside_brackets(titled).unwrap_or(titled).to_string()
}

/// B2NER's `_format`, step by step: whitespace tidied, lower case, `{}` removed, runs of
/// `,` `.` `;` collapsed, full-width `；：，` and curly quotes made ASCII, `located` →
/// `location`, `organisation` → `organization`, and the mention (after the last `:`) cleaned
/// of `@#`, book-title marks and brackets.
///
/// ```
/// use nerprep::eval::b2ner::format;
/// assert_eq!(format(" Organisation :  《Les Misérables》 "), "organization:les misérables");
/// ```
pub fn format(s: &str) -> String {
    let mut s = remove_redundant_space(s).to_lowercase();
    s = s.replace(['{', '}'], "");
    for c in [',', '.', ';'] {
        s = collapse_runs(&s, c);
    }
    s = s.replace('；', ";").replace('：', ":").replace('，', ",");
    s = s.replace(['’', '‘'], "'").replace(['“', '”'], "\"");
    s = s.replace("located", "location").replace("organisation", "organization");
    match s.rfind(':') {
        Some(colon) => format!("{}:{}", &s[..colon], clean_mention(&s[colon + 1..])),
        None => s,
    }
}

/// The set of `label:mention` items of an answer (gold or predicted), as `_extract` reads it.
///
/// ```
/// use nerprep::eval::b2ner::items;
/// let got = items("person: Ada; person: Ada; city: Paris; None");
/// assert_eq!(got.into_iter().collect::<Vec<_>>(), ["city:paris", "person:ada"]);
/// ```
pub fn items(answer: &str) -> BTreeSet<String> {
    format(answer).split(';').map(format).filter(|item| item.contains(':')).collect()
}

/// The gold answer of one instance as B2NER's loader writes it: ` label: mention` items
/// joined by `; `, or ` None`; entities typed `NA` or with an empty type are left out, as
/// upstream does.
pub fn gold_answer<'a>(entities: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let items: Vec<String> =
        entities.into_iter().filter(|(label, _)| !label.is_empty() && *label != "NA").map(|(l, m)| format!("{l}: {m}")).collect();
    if items.is_empty() { NONE_ANSWER.to_string() } else { format!(" {}", items.join("; ")) }
}

/// Scores one instance: set intersection and differences of gold and predicted items.
pub fn score_instance(gold: &str, predicted: &str) -> Tally {
    let gold = items(gold);
    let predicted = items(predicted);
    let tp = gold.intersection(&predicted).count() as u64;
    Tally { tp, fp: predicted.len() as u64 - tp, fn_: gold.len() as u64 - tp }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn whitespace_is_collapsed_and_removed_around_punctuation() {
        assert_eq!(format("  person :   Jean - Paul  Sartre "), "person:jean-paul sartre");
        assert_eq!(format("org: A ,  B ( C )"), "org:a,b(c)");
        assert_eq!(format("x:\tO ' Neil\n_x"), "x:o'neil_x");
    }

    #[test]
    fn case_braces_and_runs_of_separators() {
        assert_eq!(format("{Person}: ADA"), "person:ada");
        assert_eq!(format("a:b,,,c...d"), "a:b,c.d");
        assert_eq!(items("person: Ada;;; city: Rome"), set(&["city:rome", "person:ada"]));
    }

    #[test]
    fn full_width_punctuation_and_curly_quotes_become_ascii() {
        assert_eq!(format("人名：张三，李四"), "人名:张三,李四");
        assert_eq!(items("人名：张三；地名：北京"), set(&["人名:张三", "地名:北京"]));
        assert_eq!(format("work: “Dune” ‘II’"), "work:\"dune\" 'ii'");
    }

    #[test]
    fn located_and_organisation_are_respelled_anywhere() {
        assert_eq!(format("Located: Paris"), "location:paris");
        assert_eq!(format("organisation: UN"), "organization:un");
        // Quirk: inside a mention too.
        assert_eq!(format("event: dislocated shoulder"), "event:dislocation shoulder");
    }

    #[test]
    fn marks_around_the_mention_are_stripped() {
        assert_eq!(format("work: 《三体》"), "work:三体");
        assert_eq!(format("work: 读《三体》和《球状闪电》"), "work:三体", "the first book title is taken");
        assert_eq!(format("tag: ##rust@"), "tag:rust");
        assert_eq!(format("org: (UN)"), "org:un");
        assert_eq!(format("org: <<UN>>"), "org:un");
        assert_eq!(format("org: （联合国）"), "org:联合国");
        // Only when both ends have a bracket; the inner brackets stay.
        assert_eq!(format("org: (UN"), "org:(un");
        assert_eq!(format("org: (a)(b)"), "org:a)(b");
        // Only the part after the last `:` is the mention: `episode iv)` has no leading
        // bracket, so nothing is stripped.
        assert_eq!(format("work: (Star Wars: Episode IV)"), "work:(star wars:episode iv)");
    }

    #[test]
    fn bracket_only_mentions_follow_the_regex_backtracking() {
        // `^[B]+(.+?)[B]+$` on `(((`: the leading run gives back two characters.
        assert_eq!(inside_brackets("((("), Some("("));
        assert_eq!(inside_brackets("(("), None);
        assert_eq!(inside_brackets("(a)"), Some("a"));
        assert_eq!(inside_brackets("a)"), None);
        assert_eq!(inside_brackets("((a"), None);
        assert_eq!(inside_brackets("(()"), Some("("));
    }

    #[test]
    fn book_titles_need_a_character_inside() {
        assert_eq!(first_book_title("《》》"), Some("》"));
        assert_eq!(first_book_title("《》"), None);
        assert_eq!(first_book_title("a《b"), None);
    }

    #[test]
    fn items_split_on_semicolons_even_inside_mentions() {
        // Quirk: `date: 2 weeks; ago` is cut at `;`; the piece `ago` has no `:` and is dropped.
        assert_eq!(items("date: 2 weeks; ago; person: Ada"), set(&["date:2 weeks", "person:ada"]));
        // `None` and other pieces without `:` give nothing.
        assert!(items(" None").is_empty());
        assert!(items("I found no entities").is_empty());
    }

    #[test]
    fn instance_counts_are_set_sizes() {
        // Gold: person:ada, person:bob, date:2 weeks (the mention `2 weeks; ago` is cut) = 3.
        // Predicted: person:ada (hit, listed twice: one item), location:paris (miss, from
        // `located`), date:2 weeks (hit). tp = 2, fp = 1, fn = 1 (person:bob).
        let gold = gold_answer([("person", "Ada"), ("person", "Bob"), ("date", "2 weeks; ago")]);
        assert_eq!(gold, " person: Ada; person: Bob; date: 2 weeks; ago");
        let t = score_instance(&gold, "person: Ada; person: ADA ; located: Paris; date: 2  weeks");
        assert_eq!(t, Tally { tp: 2, fp: 1, fn_: 1 });
        assert_eq!(score_instance(&gold_answer([]), " None"), Tally::default());
        assert_eq!(gold_answer([("NA", "x"), ("", "y")]), " None");
    }
}
