//! JSON Lines where some lines are cut short: the splitter must yield exactly one record per
//! line (counted here from the newlines, not by the splitter), good lines as records and cut
//! ones as errors, whatever the cut. This is defect 1 of issue 18 as an invariant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nerprep::readers::json_stream::JsonRecords;

fuzz_target!(|data: &[u8]| {
    let mut input = Vec::new();
    let (mut good, mut cut) = (0usize, 0usize);
    for piece in data.split(|&b| b == b'\n').take(64) {
        let (truncate, payload) = match piece.split_first() {
            Some((&b'!', rest)) => (rest.first().copied(), rest.get(1..).unwrap_or_default()),
            _ => (None, piece),
        };
        let value = serde_json::json!({"id": good + cut, "text": String::from_utf8_lossy(payload), "list": [1, [2, {"x": 3}]]});
        let line = serde_json::to_vec(&value).unwrap();
        match truncate {
            Some(at) => {
                // A strict prefix, never empty: `{` starts every line, as in JSON Lines.
                let end = 1 + at as usize % (line.len() - 1);
                input.extend_from_slice(&line[..end]);
                cut += 1;
            }
            None => {
                input.extend_from_slice(&line);
                good += 1;
            }
        }
        input.push(b'\n');
    }
    let (mut ok, mut err) = (0, 0);
    for record in JsonRecords::new(&input[..]) {
        match record {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    assert_eq!((ok, err), (good, cut), "one record per line:\n{}", String::from_utf8_lossy(&input));
});
