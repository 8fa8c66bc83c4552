//! Small helpers every layer uses, owned by none of them.

/// Lowercase hex of `bytes` (digests in keys, signatures and ids).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
