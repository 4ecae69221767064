//! Byte searches for the readers' inner loops, where the byte sought is usually a few bytes
//! away (the escapes of a JSON document nested in a string, the ends of ten-byte CoNLL
//! lines): one comparison of 16 bytes at a time (SSE2, part of every x86-64 CPU) instead of
//! a general search per hit, which costs more to set up than it searches.

/// Bit `i` set where byte `i` of `block` is one of `needles` or, with `control`, below
/// 0x20 (a control character, which JSON strings must escape).
#[inline]
pub(crate) fn mask16<const N: usize>(block: &[u8; 16], needles: [u8; N], control: bool) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_setzero_si128};
        // SAFETY: SSE2 is part of every x86-64 CPU; the load reads the 16 bytes of `block`.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast());
            let eq = |x, n: u8| _mm_cmpeq_epi8(x, _mm_set1_epi8(n as i8));
            let mut found = needles.iter().fold(_mm_setzero_si128(), |acc, &n| _mm_or_si128(acc, eq(v, n)));
            if control {
                // A byte is the larger of itself and 0x1F only when it is 0x1F or less.
                found = _mm_or_si128(found, eq(_mm_max_epu8(v, _mm_set1_epi8(0x1F)), 0x1F));
            }
            _mm_movemask_epi8(found) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    block.iter().enumerate().fold(0, |mask, (i, b)| mask | (u32::from(needles.contains(b) || (control && *b < 0x20)) << i))
}

/// Where `a`, `b` or `c` first occurs in `haystack`, as [`memchr::memchr3`] has it, but
/// quicker when it is among the first 16 bytes.
#[inline]
pub(crate) fn memchr3_near(a: u8, b: u8, c: u8, haystack: &[u8]) -> Option<usize> {
    let Some(first) = haystack.first_chunk::<16>() else { return memchr::memchr3(a, b, c, haystack) };
    match mask16(first, [a, b, c], false) {
        0 => memchr::memchr3(a, b, c, &haystack[16..]).map(|k| k + 16),
        mask => Some(mask.trailing_zeros() as usize),
    }
}

/// Where the run of plain characters that starts a string's content ends: the first `"`,
/// `\` or control character (which JSON strings must escape) of `bytes`. One pass of 16
/// bytes at a time: the runs between the escapes of a nested document are short, and a
/// search for the quote followed by a check of the run for control characters took two
/// passes and two calls each.
#[inline]
pub(crate) fn string_stop(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(block) = bytes[at..].first_chunk::<16>() {
        match mask16(block, [b'"', b'\\'], true) {
            0 => at += 16,
            found => return Some(at + found.trailing_zeros() as usize),
        }
    }
    bytes[at..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|k| at + k)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_searches_find_what_a_plain_search_finds(
            haystack in proptest::collection::vec(proptest::sample::select(b"ab\"\\\n\x1f\x20\x7f\x80\xff".to_vec()), 0..80),
            skip in 0usize..8,
        ) {
            // Mostly filler, so the needle is found near, far or not at all.
            let haystack: Vec<u8> = haystack.iter().enumerate().map(|(i, &b)| if i % 8 < skip { b'x' } else { b }).collect();
            for (a, b, c) in [(b'"', b'\\', b'\n'), (b'a', b'a', b'a')] {
                proptest::prop_assert_eq!(memchr3_near(a, b, c, &haystack), memchr::memchr3(a, b, c, &haystack));
            }
            let stop = haystack.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            proptest::prop_assert_eq!(string_stop(&haystack), stop);
            if let Some(block) = haystack.first_chunk::<16>() {
                let plain = block.iter().enumerate().fold(0, |m, (i, &b)| m | (u32::from(b == b'"' || b == b'\\' || b < 0x20) << i));
                proptest::prop_assert_eq!(mask16(block, [b'"', b'\\'], true), plain);
            }
        }
    }
}
