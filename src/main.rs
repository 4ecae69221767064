//! The `nerprep` command line: a thin shell over the library, one file per subcommand.

mod cmd;

use clap::Parser;
use std::ffi::{c_int, c_long, c_ulong};
use std::process::ExitCode;

/// mimalloc instead of the C library's malloc: ingest builds and drops millions of small
/// strings on several threads, where glibc's arenas spent a quarter of the CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its index in mimalloc v3's `mi_option_t` (`mimalloc.h`).
const MI_OPTION_PURGE_DELAY: c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
}

/// Keeps memory that was freed mapped for reuse, instead of returning it to the OS a second
/// later, unless `MIMALLOC_PURGE_DELAY` says otherwise. A run frees and allocates windows
/// of input and batches of rows all the time, and a purged page comes back as a fresh page
/// the kernel must clear: fresh pages took 12–16 % of `crossner-ingest`'s CPU in profiles,
/// and purging made its system time swing from run to run. Peak memory is what the run
/// needed at its peak either way.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is thread-safe in mimalloc, and -1 is a valid delay.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
    }
}

/// Turns transparent huge pages off for this process (Linux), unless `MIMALLOC_ALLOW_THP`
/// is set. mimalloc asks for huge pages on its arenas, and each first touch of one makes the
/// kernel clear 2 MiB: ingest's peak memory was 10-45 % higher with them (pile-ner 171
/// against 120 MiB, iepile 205 against 146) for times within ±5 % either way. mimalloc
/// reads its own option before `main`, so the process-wide switch is used.
fn small_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE takes one integer flag and touches no memory of ours; a
        // kernel that does not know it fails the call, which changes nothing.
        unsafe { prctl(PR_SET_THP_DISABLE, 1 as c_ulong, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) };
    }
}

#[cfg(target_os = "linux")]
const PR_SET_THP_DISABLE: c_int = 41;

#[cfg(target_os = "linux")]
unsafe extern "C" {
    fn prctl(option: c_int, ...) -> c_int;
}

fn main() -> ExitCode {
    keep_freed_memory();
    small_pages();
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

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" {
        fn mi_option_get(option: c_int) -> c_long;
    }

    #[test]
    fn freed_memory_is_kept_unless_the_environment_sets_the_delay() {
        // SAFETY: reading an option is thread-safe in mimalloc.
        let get = || unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // mimalloc v3's default purge delay, 1000 ms: the index names the option we mean.
        assert_eq!(get(), 1000);
        keep_freed_memory();
        assert_eq!(get(), -1);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_off_unless_the_environment_allows_them() {
        const PR_GET_THP_DISABLE: c_int = 42;
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return;
        }
        small_pages();
        // SAFETY: PR_GET_THP_DISABLE takes no argument and returns the flag.
        assert_eq!(unsafe { prctl(PR_GET_THP_DISABLE, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) }, 1);
    }
}
