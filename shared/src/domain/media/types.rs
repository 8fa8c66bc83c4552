//! The media types WhatsApp takes, their size limits (SPEC → Media and rich messages), and the
//! content check an upload passes before anything is stored: the declared type must be one of
//! Meta's, and the file's first bytes (its magic number) must be what that type starts with —
//! a `.png` that is an executable is refused (415 `unsupported_media_type`), whatever it says.

use serde::{Deserialize, Serialize};

use crate::domain::error::{Error, Kind};

const MB: u64 = 1024 * 1024;

/// How many leading bytes [`check_content`] looks at (a text file: that much must be text).
pub const SNIFF_BYTES: usize = 512;

/// What WhatsApp calls a media message type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Document,
    Sticker,
}

impl MediaKind {
    pub const ALL: [MediaKind; 5] =
        [MediaKind::Image, MediaKind::Audio, MediaKind::Video, MediaKind::Document, MediaKind::Sticker];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Meta's size limit for this kind (SPEC: image 5 MB, audio and video 16 MB, document
    /// 100 MB, sticker 500 KB).
    pub fn max_size(self) -> u64 {
        match self {
            MediaKind::Image => 5 * MB,
            MediaKind::Audio | MediaKind::Video => 16 * MB,
            MediaKind::Document => 100 * MB,
            MediaKind::Sticker => 500 * 1024,
        }
    }

    fn limit_text(self) -> &'static str {
        match self {
            MediaKind::Image => "5 MB",
            MediaKind::Audio | MediaKind::Video => "16 MB",
            MediaKind::Document => "100 MB",
            MediaKind::Sticker => "500 KB",
        }
    }
}

/// The largest file of any kind (a document): what an upload body may carry at most.
pub const MAX_MEDIA_SIZE: u64 = 100 * MB;

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Magic {
    Jpeg,
    Png,
    Webp,
    Pdf,
    /// ISO base media (`ftyp` box): MP4, M4A, 3GPP.
    IsoMedia,
    Ogg,
    Amr,
    /// MPEG audio: an ID3 tag or an MP3 frame header.
    Mpeg,
    /// AAC in ADTS frames.
    Adts,
    /// A ZIP archive: the Office Open XML formats (docx, xlsx, pptx).
    Zip,
    /// An OLE2 compound file: the legacy Office formats (doc, xls, ppt).
    Ole,
    /// Plain text: UTF-8 without control characters other than tab, newlines and form feed.
    Text,
}

/// One type WhatsApp takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaType {
    pub mime: &'static str,
    pub kind: MediaKind,
    /// The extension stored files of this type get.
    pub extension: &'static str,
    /// Other file name extensions that mean this type.
    aliases: &'static [&'static str],
    magic: Magic,
}

const fn t(mime: &'static str, kind: MediaKind, extension: &'static str, magic: Magic) -> MediaType {
    MediaType { mime, kind, extension, aliases: &[], magic }
}

/// Meta's supported media types (WhatsApp Cloud API → Media → supported media types).
pub const TYPES: &[MediaType] = &[
    MediaType { aliases: &["jpeg"], ..t("image/jpeg", MediaKind::Image, "jpg", Magic::Jpeg) },
    t("image/png", MediaKind::Image, "png", Magic::Png),
    t("audio/aac", MediaKind::Audio, "aac", Magic::Adts),
    t("audio/amr", MediaKind::Audio, "amr", Magic::Amr),
    MediaType { aliases: &["mp3"], ..t("audio/mpeg", MediaKind::Audio, "mp3", Magic::Mpeg) },
    t("audio/mp4", MediaKind::Audio, "m4a", Magic::IsoMedia),
    MediaType { aliases: &["opus"], ..t("audio/ogg", MediaKind::Audio, "ogg", Magic::Ogg) },
    t("video/mp4", MediaKind::Video, "mp4", Magic::IsoMedia),
    t("video/3gpp", MediaKind::Video, "3gp", Magic::IsoMedia),
    t("text/plain", MediaKind::Document, "txt", Magic::Text),
    t("application/pdf", MediaKind::Document, "pdf", Magic::Pdf),
    t("application/msword", MediaKind::Document, "doc", Magic::Ole),
    t("application/vnd.ms-excel", MediaKind::Document, "xls", Magic::Ole),
    t("application/vnd.ms-powerpoint", MediaKind::Document, "ppt", Magic::Ole),
    t(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        MediaKind::Document,
        "docx",
        Magic::Zip,
    ),
    t("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", MediaKind::Document, "xlsx", Magic::Zip),
    t(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        MediaKind::Document,
        "pptx",
        Magic::Zip,
    ),
    t("image/webp", MediaKind::Sticker, "webp", Magic::Webp),
];

/// The supported type named by a `Content-Type` value (case and parameters ignored).
pub fn by_mime(content_type: &str) -> Option<&'static MediaType> {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    TYPES.iter().find(|t| t.mime == essence)
}

/// The supported type a file name's extension means.
pub fn by_filename(filename: &str) -> Option<&'static MediaType> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    TYPES.iter().find(|t| t.extension == ext || t.aliases.contains(&ext.as_str()))
}

fn magic_of(head: &[u8], complete: bool) -> Option<Magic> {
    let starts = |prefix: &[u8]| head.starts_with(prefix);
    Some(if starts(&[0xFF, 0xD8, 0xFF]) {
        Magic::Jpeg
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Magic::Png
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        Magic::Webp
    } else if starts(b"%PDF-") {
        Magic::Pdf
    } else if head.get(4..8) == Some(b"ftyp") {
        Magic::IsoMedia
    } else if starts(b"OggS") {
        Magic::Ogg
    } else if starts(b"#!AMR") {
        Magic::Amr
    } else if starts(b"ID3") {
        Magic::Mpeg
    } else if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xF6 == 0xF0 {
        // ADTS: 12-bit sync, layer bits 00.
        Magic::Adts
    } else if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 && head[1] & 0x06 != 0 {
        // An MPEG audio frame: 11-bit sync, a layer.
        Magic::Mpeg
    } else if starts(b"PK\x03\x04") {
        Magic::Zip
    } else if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Magic::Ole
    } else if is_text(head, complete) {
        Magic::Text
    } else {
        return None;
    })
}

/// UTF-8 (a character cut at the end of an incomplete head is fine) without control characters
/// other than tab, line feed, carriage return and form feed.
fn is_text(head: &[u8], complete: bool) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        // Only a sequence cut by the end of the head, and only when more follows.
        Err(e) => !complete && e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    valid && head.iter().all(|&b| b >= 0x20 && b != 0x7f || matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
}

/// The type an upload is, from its declared content type, else its file name, else its bytes;
/// and only if its first bytes (`head`, at least [`SNIFF_BYTES`] of them unless the file is
/// shorter: then `complete`) are what that type starts with.
/// 415 `unsupported_media_type` for a type WhatsApp does not take or content that is not that type.
pub fn admit(
    declared: Option<&str>,
    filename: Option<&str>,
    head: &[u8],
    complete: bool,
) -> Result<&'static MediaType, Error> {
    let declared = declared.map(str::trim).filter(|d| !d.is_empty() && !is_generic(d));
    let media_type = match (declared, filename.and_then(by_filename)) {
        (Some(d), _) => by_mime(d).ok_or_else(|| {
            Error::unsupported_type(format!(
                "{} is not a media type WhatsApp takes (images: jpeg, png; audio: aac, amr, mpeg, mp4, ogg; \
                 video: mp4, 3gpp; documents: pdf, Office, plain text; stickers: webp)",
                d.split(';').next().unwrap_or_default().trim()
            ))
        })?,
        (None, Some(by_name)) => by_name,
        (None, None) => {
            let magic = magic_of(head, complete);
            TYPES.iter().find(|t| Some(t.magic) == magic).ok_or_else(|| {
                Error::unsupported_type("the file is of no media type WhatsApp takes (give its content type)")
            })?
        }
    };
    check_content(media_type, head, complete)?;
    Ok(media_type)
}

/// `application/octet-stream` and friends say nothing about the file.
fn is_generic(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    matches!(essence.as_str(), "application/octet-stream" | "binary/octet-stream" | "application/binary")
}

/// The file's first bytes are what `media_type` starts with (415 otherwise).
pub fn check_content(media_type: &MediaType, head: &[u8], complete: bool) -> Result<(), Error> {
    if head.is_empty() {
        return Err(Error::invalid("empty_file", "the file is empty"));
    }
    if magic_of(head, complete) == Some(media_type.magic)
        // A text file that happens to start like something else is still text if all of it is.
        || (media_type.magic == Magic::Text && is_text(head, complete))
    {
        Ok(())
    } else {
        Err(Error::unsupported_type(format!("the file's content is not {}", media_type.mime)))
    }
}

/// 413 `media_too_large` when `size` is over the kind's limit.
pub fn check_size(media_type: &MediaType, size: u64) -> Result<(), Error> {
    if size > media_type.kind.max_size() {
        return Err(Error::new(
            Kind::TooLarge,
            "media_too_large",
            format!("{} files are limited to {} by WhatsApp", media_type.kind.as_str(), media_type.kind.limit_text()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00";

    fn sample(mime: &str) -> Vec<u8> {
        match mime {
            "image/jpeg" => b"\xff\xd8\xff\xe0\x00\x10JFIF\x00".to_vec(),
            "image/png" => b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec(),
            "image/webp" => b"RIFF\x24\x00\x00\x00WEBPVP8 ".to_vec(),
            "application/pdf" => b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(),
            "audio/mp4" | "video/mp4" => b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00".to_vec(),
            "video/3gpp" => b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00".to_vec(),
            "audio/ogg" => b"OggS\x00\x02\x00\x00\x00\x00".to_vec(),
            "audio/amr" => b"#!AMR\n\x3c\x91".to_vec(),
            "audio/mpeg" => b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec(),
            "audio/aac" => b"\xff\xf1\x50\x80\x02\x1f\xfc".to_vec(),
            "text/plain" => "Invoice 42 — paid\r\n\tthanks".as_bytes().to_vec(),
            m if m.contains("openxmlformats") => b"PK\x03\x04\x14\x00\x06\x00".to_vec(),
            _ => b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00".to_vec(),
        }
    }

    #[test]
    fn every_supported_type_is_admitted_by_its_own_magic_and_refuses_an_executable() {
        for t in TYPES {
            let body = sample(t.mime);
            assert_eq!(admit(Some(t.mime), None, &body, true).map(|m| m.mime), Ok(t.mime), "{}", t.mime);
            let e = admit(Some(t.mime), None, ELF, true).expect_err(t.mime);
            assert_eq!((e.kind, e.code), (Kind::UnsupportedType, "unsupported_media_type"), "{}", t.mime);
        }
    }

    #[test]
    fn a_png_named_file_that_is_an_executable_is_refused_by_name_type_and_content() {
        for (declared, name) in [(Some("image/png"), Some("photo.png")), (None, Some("photo.png")), (None, None)] {
            let e = admit(declared, name, ELF, true).expect_err("an ELF passed");
            assert_eq!(e.kind, Kind::UnsupportedType, "{declared:?} {name:?}");
        }
        let e = admit(Some("application/octet-stream"), Some("photo.png"), ELF, true).unwrap_err();
        assert_eq!(e.kind, Kind::UnsupportedType);
    }

    #[test]
    fn the_type_comes_from_the_declaration_then_the_name_then_the_bytes() {
        let png = sample("image/png");
        assert_eq!(admit(None, Some("Photo.PNG"), &png, true).unwrap().mime, "image/png");
        assert_eq!(admit(Some("application/octet-stream"), None, &png, true).unwrap().mime, "image/png");
        assert_eq!(admit(Some("IMAGE/PNG; q=1"), None, &png, true).unwrap().mime, "image/png");
        assert_eq!(admit(None, None, &sample("application/pdf"), true).unwrap().kind, MediaKind::Document);
        // A JPEG declared as PNG is not a PNG.
        assert_eq!(
            admit(Some("image/png"), None, &sample("image/jpeg"), true).unwrap_err().kind,
            Kind::UnsupportedType
        );
    }

    #[test]
    fn unsupported_types_are_refused_even_with_matching_content() {
        let gif = b"GIF89a\x01\x00\x01\x00";
        for declared in ["image/gif", "application/x-msdownload", "text/html"] {
            let e = admit(Some(declared), None, gif, true).unwrap_err();
            assert_eq!(e.code, "unsupported_media_type", "{declared}");
        }
        assert_eq!(admit(None, Some("a.gif"), gif, true).unwrap_err().kind, Kind::UnsupportedType);
    }

    #[test]
    fn text_is_utf8_without_control_characters() {
        let text = by_mime("text/plain").unwrap();
        assert!(check_content(text, "Grüße\n".as_bytes(), true).is_ok());
        assert!(check_content(text, b"binary\x00zero", true).is_err());
        assert!(check_content(text, b"\xff\xfe not utf-8", true).is_err());
        // A character cut by the end of the head is fine only if more follows.
        let cut = &"aé".as_bytes()[..2];
        assert!(check_content(text, cut, false).is_ok());
        assert!(check_content(text, cut, true).is_err());
    }

    #[test]
    fn each_kind_has_its_limit() {
        let limits = [
            ("image/png", 5 * MB),
            ("audio/ogg", 16 * MB),
            ("video/mp4", 16 * MB),
            ("application/pdf", 100 * MB),
            ("image/webp", 500 * 1024),
        ];
        for (mime, limit) in limits {
            let t = by_mime(mime).unwrap();
            assert!(check_size(t, limit).is_ok(), "{mime}");
            let e = check_size(t, limit + 1).unwrap_err();
            assert_eq!((e.kind, e.code), (Kind::TooLarge, "media_too_large"), "{mime}");
        }
        assert_eq!(TYPES.iter().map(|t| t.kind.max_size()).max(), Some(MAX_MEDIA_SIZE));
    }

    #[test]
    fn an_empty_file_is_invalid() {
        assert_eq!(admit(Some("image/png"), None, b"", true).unwrap_err().code, "empty_file");
    }
}
