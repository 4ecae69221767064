//! The `nerprep` command line: a thin shell over the library, one file per subcommand.

mod cmd;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of the C library's malloc: ingest builds and drops millions of small
/// strings on several threads, where glibc's arenas spent a quarter of the CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, `a: b: c`. A cause its parent's message already
/// ends with (an error that prints its own source, as `path: what the OS said` does) is
/// not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Output piped into `head` closes early; that is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
