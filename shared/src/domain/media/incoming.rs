//! A file arriving in pieces (a multipart upload, the API's or the console's): its type decided
//! from its first bytes and its size counted as it arrives, refused as soon as either breaks
//! WhatsApp's rules ([`types`]), so a refused file is never kept whole.

use bytes::BytesMut;

use super::service::Upload;
use super::types::{self, MediaType, SNIFF_BYTES};
use crate::domain::Error;

pub struct Incoming {
    declared: Option<String>,
    filename: Option<String>,
    bytes: BytesMut,
    admitted: Option<&'static MediaType>,
    refusal: Option<Error>,
}

impl Incoming {
    /// A file whose part declared `declared` (its `Content-Type`) and `filename`.
    pub fn new(declared: Option<String>, filename: Option<String>) -> Self {
        Self { declared, filename, bytes: BytesMut::new(), admitted: None, refusal: None }
    }

    /// The next piece; after a refusal the rest is counted out, not kept.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.refusal.is_some() {
            return;
        }
        self.bytes.extend_from_slice(chunk);
        if self.admitted.is_none() && self.bytes.len() >= SNIFF_BYTES {
            match types::admit(self.declared.as_deref(), self.filename.as_deref(), &self.bytes[..SNIFF_BYTES], false) {
                Ok(t) => self.admitted = Some(t),
                Err(e) => self.refusal = Some(e),
            }
        }
        if let Some(t) = self.admitted
            && let Err(e) = types::check_size(t, self.bytes.len() as u64)
        {
            self.refusal = Some(e);
        }
        if self.refusal.is_some() {
            self.bytes = BytesMut::new();
        }
    }

    /// Whether nothing arrived (a form's file input left empty).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.refusal.is_none()
    }

    /// The whole file, for [`super::service::upload`] (which checks a small file's type too), or
    /// the refusal (415 `unsupported_media_type`, 413 `media_too_large`).
    pub fn finish(self) -> Result<Upload, Error> {
        match self.refusal {
            Some(e) => Err(e),
            None => Ok(Upload { declared_type: self.declared, filename: self.filename, body: self.bytes.freeze() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Kind;

    fn pushed(declared: &str, head: &[u8], total: usize) -> Result<Upload, Error> {
        let mut file = Incoming::new(Some(declared.into()), None);
        let mut bytes = head.to_vec();
        bytes.resize(total, 0);
        for chunk in bytes.chunks(64 * 1024) {
            file.push(chunk);
        }
        file.finish()
    }

    #[test]
    fn a_file_is_refused_as_it_arrives_and_not_kept() {
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";
        assert_eq!(pushed("image/png", png, 4096).unwrap().body.len(), 4096);
        let elf = pushed("image/png", b"\x7fELF\x02\x01\x01", 4096).unwrap_err();
        assert_eq!(elf.kind, Kind::UnsupportedType);
        let big = pushed("image/png", png, 5 * 1024 * 1024 + 1).unwrap_err();
        assert_eq!(big.kind, Kind::TooLarge);
        let mut file = Incoming::new(Some("image/png".into()), None);
        file.push(&[0x7f; SNIFF_BYTES]);
        assert!(file.bytes.is_empty() && file.refusal.is_some(), "nothing kept after a refusal");
        assert!(Incoming::new(None, None).is_empty());
    }
}
