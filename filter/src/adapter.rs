//! The filter's host-facing adapter: the bytes Envoy hands over, turned into core's inputs
//! without assuming anything about them.
//!
//! Pure functions with no proxy-wasm dependency, so the fuzz target `host_edge`
//! (`fuzz/fuzz_targets/host_edge.rs`) links this very file and checks that no sequence of
//! bytes makes it panic, and that what comes out of core for those bytes keeps its promises.

/// Reads a little-endian `u32` at `at`, if the bytes are there.
fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let end = at.checked_add(4)?;
    let b: [u8; 4] = bytes.get(at..end)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(b)).ok()
}

/// Parses a header map as proxy-wasm serializes it: the number of pairs (`u32` LE), then each
/// pair's name and value lengths (`u32` LE each), then each name and value followed by a NUL.
/// Names and values stay bytes. `None` when the bytes do not describe a map (the host broke
/// its own format; the caller fails closed). Linear in the input, checked arithmetic only.
pub fn parse_header_map(bytes: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = u32_at(bytes, 0)?;
    // Every pair takes 8 bytes of sizes and 2 NULs: a count the input cannot hold is refused
    // before anything is allocated for it.
    let sizes_end = count.checked_mul(8)?.checked_add(4)?;
    if sizes_end.checked_add(count.checked_mul(2)?)? > bytes.len() {
        return None;
    }
    let mut pairs = Vec::with_capacity(count);
    let mut p = sizes_end;
    for n in 0..count {
        let s = 4 + n * 8;
        let name_len = u32_at(bytes, s)?;
        let value_len = u32_at(bytes, s + 4)?;
        let name_end = p.checked_add(name_len)?;
        let name = bytes.get(p..name_end)?;
        p = name_end.checked_add(1)?;
        let value_end = p.checked_add(value_len)?;
        let value = bytes.get(p..value_end)?;
        p = value_end.checked_add(1)?;
        pairs.push((name, value));
    }
    (p <= bytes.len()).then_some(pairs)
}

/// The inverse of [`parse_header_map`] (for local responses).
pub fn serialize_header_map(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(n, v)| 8 + n.len() + v.len() + 2)
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&len_u32(pairs.len()));
    for (name, value) in pairs {
        out.extend_from_slice(&len_u32(name.len()));
        out.extend_from_slice(&len_u32(value.len()));
    }
    for (name, value) in pairs {
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

fn len_u32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_round_trips_with_any_bytes() {
        let pairs: Vec<(&[u8], &[u8])> = vec![
            (b":path", b"/x"),
            (b"user-agent", b"caf\xe9"),
            (b"x-\xff", b""),
        ];
        let bytes = serialize_header_map(&pairs);
        assert_eq!(parse_header_map(&bytes), Some(pairs));
    }

    #[test]
    fn truncated_or_lying_maps_are_refused() {
        let bytes = serialize_header_map(&[(b"a", b"b")]);
        for cut in 1..bytes.len() {
            assert_eq!(parse_header_map(&bytes[..cut]), None, "cut at {cut}");
        }
        assert_eq!(parse_header_map(&[0xff, 0xff, 0xff, 0xff]), None);
    }
}
