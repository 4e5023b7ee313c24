//! Lower-case hex, by table: digests are written per audit record and per argument hash, where
//! a `write!("{:02x}")` per byte cost about 250 instructions a byte.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn lower_case_two_digits_a_byte() {
        assert_eq!(super::hex(&[0, 255, 16, 0xab]), "00ff10ab");
        assert_eq!(super::hex(&[]), "");
    }
}
