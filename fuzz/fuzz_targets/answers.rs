//! Every answer parser, strict and with the LLM-output repairs, on any text: an error or
//! predictions, never a panic, and bounded work (runaway brackets included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nerprep::answer::{parse, repair::parse_llm, AnswerContext, AnswerFormat};

fuzz_target!(|data: &[u8]| {
    let answer = String::from_utf8_lossy(data);
    let labels = vec!["person".to_string(), "location".to_string(), "organisation name".to_string()];
    let ctx = AnswerContext { text: "Alice met Bob in Paris at the ACME Corp office .", labels: &labels };
    for format in AnswerFormat::ALL {
        let _ = parse(format, ctx, &answer);
        let _ = parse_llm(format, ctx, &answer);
    }
});
