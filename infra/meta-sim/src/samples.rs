//! Small, valid files of each kind a customer can send (`/_sim/inbound` with a media `type`),
//! built here byte by byte so their structure is documented and nothing is copied in:
//!
//! - image: an 8×8 grey baseline JPEG (or an 8×8 PNG when `image/png` is asked for);
//! - sticker: a 1×1 lossless WEBP (VP8L);
//! - audio: an Ogg Opus stream (OpusHead, OpusTags, one second of empty 20 ms frames);
//! - video: an MP4 (`ftyp` isom, `free`, empty `mdat`): the right signature, no playable track;
//! - document: a one-page PDF showing the file name (or a text file for `text/plain`).
//!
//! `min_size` pads a file to at least that many bytes where the format allows filler (a PNG
//! ancillary chunk, JPEG comments, PDF comment lines, an MP4 `free` box) or after its end (Ogg,
//! WEBP), for benchmarks that need realistic sizes.

use crate::media::Kind;

/// A generated file: its MIME type (as Meta's webhooks give it), bytes and suggested name.
pub struct Sample {
    pub mime_type: String,
    pub bytes: Vec<u8>,
    pub filename: String,
}

/// A file of `kind`; `mime` picks a variant where there is one (`image/png`, `text/plain`).
pub fn sample(kind: Kind, mime: Option<&str>, label: &str, min_size: usize) -> Sample {
    let (mime_type, bytes, ext) = match (kind, mime.map(crate::media::essence).as_deref()) {
        (Kind::Image, Some("image/png")) => ("image/png", png(8, 8, [0x25, 0xD3, 0x66], min_size), "png"),
        (Kind::Image, _) => ("image/jpeg", jpeg(min_size), "jpg"),
        (Kind::Sticker, _) => ("image/webp", pad_end(webp(), min_size), "webp"),
        (Kind::Audio, _) => ("audio/ogg; codecs=opus", pad_end(ogg_opus(), min_size), "ogg"),
        (Kind::Video, _) => ("video/mp4", mp4(min_size), "mp4"),
        (Kind::Document, Some("text/plain")) => ("text/plain", pad_end(label.as_bytes().to_vec(), min_size), "txt"),
        (Kind::Document, _) => ("application/pdf", pdf(label, min_size), "pdf"),
    };
    Sample { mime_type: mime_type.to_owned(), bytes, filename: format!("{}.{ext}", kind.as_str()) }
}

fn pad_end(mut bytes: Vec<u8>, min_size: usize) -> Vec<u8> {
    if bytes.len() < min_size {
        bytes.resize(min_size, 0);
    }
    bytes
}

/// CRC-32 (ISO-HDLC, reflected 0xEDB88320), as PNG uses.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A `w`×`h` RGB PNG of one colour; the pixels go in one stored (uncompressed) deflate block.
pub fn png(w: u32, h: u32, rgb: [u8; 3], min_size: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, no filter, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    // Each row: filter byte 0 (none), then the pixels.
    let row: Vec<u8> = std::iter::once(0).chain(rgb.iter().copied().cycle().take(3 * w as usize)).collect();
    let raw = row.repeat(h as usize);
    let mut z = vec![0x78, 0x01, 0x01]; // zlib header; final stored block
    let len = raw.len() as u16;
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(&raw);
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    png_chunk(&mut out, b"IDAT", &z);
    // "miPd": ancillary, private, safe to copy — decoders skip it.
    let filler = min_size.saturating_sub(out.len() + 12 + 12);
    if filler > 0 {
        png_chunk(&mut out, b"miPd", &vec![0; filler]);
    }
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn jpeg_segment(out: &mut Vec<u8>, marker: u8, data: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// An 8×8 grey baseline JPEG: one component, quantisation all 1s, and Huffman tables with a
/// single one-bit code each (DC category 0, AC end-of-block), so the one block is the bits `00`.
pub fn jpeg(min_size: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    jpeg_segment(&mut out, 0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    let fixed = 2 + 18 + 69 + 13 + 2 * 22 + 10 + 1 + 2; // everything but comments
    let mut filler = min_size.saturating_sub(fixed);
    while filler > 0 {
        let n = filler.saturating_sub(4).min(65_533);
        jpeg_segment(&mut out, 0xFE, &vec![b' '; n]);
        filler = filler.saturating_sub(n + 4);
    }
    let mut dqt = vec![0x00];
    dqt.extend_from_slice(&[1; 64]);
    jpeg_segment(&mut out, 0xDB, &dqt);
    jpeg_segment(&mut out, 0xC0, &[8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
    for class in [0x00u8, 0x10] {
        let mut dht = vec![class, 1];
        dht.extend_from_slice(&[0; 15]);
        dht.push(0); // the one symbol: DC category 0 / AC end-of-block
        jpeg_segment(&mut out, 0xC4, &dht);
    }
    jpeg_segment(&mut out, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
    out.push(0b0011_1111); // DC "0", EOB "0", then 1-bits to the byte boundary
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// LSB-first bit writer (VP8L's bit order).
struct Bits {
    out: Vec<u8>,
    used: u32,
}

impl Bits {
    fn put(&mut self, value: u32, n: u32) {
        for i in 0..n {
            if self.used.is_multiple_of(8) {
                self.out.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            *self.out.last_mut().expect("pushed above") |= bit << (self.used % 8);
            self.used += 1;
        }
    }
}

/// A 1×1 lossless WEBP: the VP8L header, no transforms, no colour cache, and five "simple"
/// prefix codes of one symbol each (green, red, blue, alpha, distance), so the pixel itself
/// takes no bits.
pub fn webp() -> Vec<u8> {
    let mut bits = Bits { out: vec![0x2F], used: 8 };
    bits.put(0, 14); // width - 1
    bits.put(0, 14); // height - 1
    bits.put(0, 1); // alpha unused
    bits.put(0, 3); // version
    bits.put(0, 1); // no transform
    bits.put(0, 1); // no colour cache
    bits.put(0, 1); // no meta prefix codes
    for value in [0xD3u32, 0x25, 0x66, 0xFF] {
        bits.put(1, 1); // simple code
        bits.put(0, 1); // one symbol
        bits.put(1, 1); // 8-bit symbol
        bits.put(value, 8);
    }
    bits.put(1, 1); // distance: simple code, one symbol, 1-bit symbol 0
    bits.put(0, 1);
    bits.put(0, 1);
    bits.put(0, 1);
    let mut vp8l = bits.out;
    let len = vp8l.len() as u32;
    if vp8l.len() % 2 == 1 {
        vp8l.push(0);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&((4 + 8 + vp8l.len()) as u32).to_le_bytes());
    out.extend_from_slice(b"WEBPVP8L");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&vp8l);
    out
}

/// CRC-32 as Ogg uses it: polynomial 0x04C11DB7, not reflected, zero start.
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    crc
}

fn ogg_page(out: &mut Vec<u8>, flags: u8, granule: u64, seq: u32, packets: &[Vec<u8>]) {
    let start = out.len();
    out.extend_from_slice(b"OggS\0");
    out.push(flags);
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&0x4D49_5047u32.to_le_bytes()); // stream serial
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // CRC, filled below
    let mut lacing = Vec::new();
    for p in packets {
        lacing.extend(std::iter::repeat_n(255u8, p.len() / 255));
        lacing.push((p.len() % 255) as u8);
    }
    out.push(lacing.len() as u8);
    out.extend_from_slice(&lacing);
    for p in packets {
        out.extend_from_slice(p);
    }
    let crc = ogg_crc(&out[start..]);
    out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
}

/// Mono Ogg Opus: the identification and comment headers, then 50 one-byte packets (TOC 0xF8:
/// CELT fullband 20 ms, one empty frame — decoded as silence).
pub fn ogg_opus() -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(1); // channels
    head.extend_from_slice(&312u16.to_le_bytes()); // pre-skip
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes()); // gain
    head.push(0); // mapping family
    let vendor = b"miping meta-sim";
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    let frames: Vec<Vec<u8>> = (0..50).map(|_| vec![0xF8]).collect();
    let mut out = Vec::new();
    ogg_page(&mut out, 0x02, 0, 0, &[head]);
    ogg_page(&mut out, 0x00, 0, 1, &[tags]);
    ogg_page(&mut out, 0x04, 312 + 50 * 960, 2, &frames);
    out
}

fn mp4_box(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&((8 + data.len()) as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
}

pub fn mp4(min_size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    mp4_box(&mut out, b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
    let filler = vec![0; min_size.saturating_sub(out.len() + 16)];
    mp4_box(&mut out, b"free", &filler);
    mp4_box(&mut out, b"mdat", &[]);
    out
}

/// A one-page PDF with `label` in Helvetica; the cross-reference offsets are computed.
pub fn pdf(label: &str, min_size: usize) -> Vec<u8> {
    let text: String = label
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .flat_map(|c| if matches!(c, '(' | ')' | '\\') { vec!['\\', c] } else { vec![c] })
        .collect();
    let content = format!("BT /F1 14 Tf 24 56 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 320 120] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    // Filler as comment lines, before the cross-reference table so no offset moves.
    // (what follows is at least 180 bytes)
    while out.len() + 180 < min_size {
        let n = (min_size - out.len() - 180).min(1000);
        out.push(b'%');
        out.extend(std::iter::repeat_n(b'x', n.saturating_sub(2)));
        out.push(b'\n');
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::content_matches;

    #[test]
    fn every_kind_has_its_signature_and_honours_min_size() {
        for kind in Kind::ALL {
            for min in [0, 70_000] {
                let s = sample(kind, None, "invoice A-1 (copy)", min);
                assert!(content_matches(&s.mime_type, &s.bytes), "{kind:?} {}", s.mime_type);
                assert!(s.bytes.len() >= min, "{kind:?} {} < {min}", s.bytes.len());
                assert!(crate::media::fits(kind, &s.mime_type), "{kind:?}");
            }
        }
        let png = sample(Kind::Image, Some("image/png"), "", 0);
        assert!(content_matches("image/png", &png.bytes));
        assert_eq!(png.filename, "image.png");
    }

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        // The Ogg CRC of "123456789" (CRC-32/MPEG-2 without its init/xorout: CRC-32/OGG).
        assert_eq!(ogg_crc(b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn pdf_offsets_point_at_their_objects() {
        let pdf = pdf("a (b) \\ c", 5_000);
        // Byte offsets: the binary marker line is not UTF-8, so compare bytes, not a lossy string.
        let text: String = pdf.iter().map(|&b| if b.is_ascii() { b as char } else { '~' }).collect();
        assert!(text.ends_with("%%EOF\n"));
        let startxref: usize = text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(text[startxref..].starts_with("xref"));
        let third = text[startxref..].lines().nth(5).unwrap(); // the entry of object 3
        let at: usize = third[..10].parse().unwrap();
        assert!(text[at..].starts_with("3 0 obj"));
        assert!(text.contains("(a \\(b\\) \\\\ c) Tj"));
    }
}
