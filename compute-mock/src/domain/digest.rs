//! Small deterministic digests and encodings the mock needs without extra crates:
//! stable ids (images), host ids, fake key material and fingerprints.

/// 64-bit FNV-1a of `data`, started from `seed`.
fn fnv1a(seed: u64, data: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `n` bytes derived from `data`; the same input gives the same bytes everywhere.
pub fn bytes(data: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 8);
    let mut round = 0u64;
    while out.len() < n {
        out.extend_from_slice(
            &fnv1a(round.wrapping_mul(0x9e37_79b9_7f4a_7c15), data.as_bytes()).to_be_bytes(),
        );
        round += 1;
    }
    out.truncate(n);
    out
}

/// A name-based UUID (version 5 layout) from `name`: stable across starts and replicas.
pub fn stable_uuid(name: &str) -> uuid::Uuid {
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes(&format!("understudy-image:{name}"), 16));
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_uuids_depend_only_on_the_name() {
        assert_eq!(stable_uuid("Ubuntu"), stable_uuid("Ubuntu"));
        assert_ne!(stable_uuid("Ubuntu"), stable_uuid("CentOS"));
        assert_eq!(stable_uuid("Ubuntu").get_version_num(), 5);
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
