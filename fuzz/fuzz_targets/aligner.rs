//! The mention aligner: a text and mentions (lines of the input after the first): every
//! placed span slices to its entity text, and every listing is placed or reported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nerprep::align::{align, AlignOptions};
use nerprep::model::CharIndex;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let passage = lines.next().unwrap_or_default();
    let mentions: Vec<(String, String)> = lines.take(32).map(|m| (m.to_string(), "label".to_string())).collect();
    for automaton_from in [1, usize::MAX] {
        let options = AlignOptions { automaton_from, ..AlignOptions::default() };
        let found = align(passage, &mentions, &options);
        let index = CharIndex::new(passage);
        for e in &found.entities {
            assert_eq!(index.slice(passage, e.span), Some(e.text.as_str()), "span {:?} of {passage:?}", e.span);
        }
        assert_eq!(found.entities.len(), found.origins.len());
    }
});
