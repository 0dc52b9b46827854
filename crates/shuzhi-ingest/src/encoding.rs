//! Text encodings of deliveries: BOM sniffing, strict UTF-8 validation, GB18030 decoding.

use std::borrow::Cow;

/// Encoding used to decode a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextEncoding {
    /// UTF-8.
    Utf8,
    /// GB18030, a superset of GBK and GB2312 (always decode GBK with it).
    Gb18030,
    /// UTF-16 little endian (recognised by its BOM; Excel's "Unicode text").
    Utf16Le,
    /// UTF-16 big endian (recognised by its BOM).
    Utf16Be,
}

impl TextEncoding {
    /// Name as written in pipelines and manifests.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Gb18030 => "gb18030",
            TextEncoding::Utf16Le => "utf-16le",
            TextEncoding::Utf16Be => "utf-16be",
        }
    }
}

/// What a byte order mark says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bom {
    /// `EF BB BF`.
    Utf8,
    /// `FF FE` or `FE FF`.
    Utf16(TextEncoding),
    /// No BOM.
    None,
}

/// Sniffs a BOM at the start of a file.
pub fn sniff_bom(head: &[u8]) -> Bom {
    match head {
        [0xEF, 0xBB, 0xBF, ..] => Bom::Utf8,
        [0xFF, 0xFE, ..] => Bom::Utf16(TextEncoding::Utf16Le),
        [0xFE, 0xFF, ..] => Bom::Utf16(TextEncoding::Utf16Be),
        _ => Bom::None,
    }
}

/// Decodes a whole UTF-16 text (without its BOM); on failure returns the byte offset of the
/// first unpaired surrogate.
pub fn decode_utf16(bytes: &[u8], encoding: TextEncoding) -> Result<String, usize> {
    let codec = match encoding {
        TextEncoding::Utf16Be => encoding_rs::UTF_16BE,
        _ => encoding_rs::UTF_16LE,
    };
    let mut decoder = codec.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3 / 2 + 16);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::InputEmpty => Ok(out),
        encoding_rs::DecoderResult::Malformed(bad, _) => Err(read.saturating_sub(usize::from(bad))),
        encoding_rs::DecoderResult::OutputFull => Err(read),
    }
}

/// Decodes a chunk that starts and ends on record boundaries. On failure returns the byte
/// offset (within the chunk) of the first invalid sequence.
pub fn decode(bytes: &[u8], encoding: TextEncoding) -> Result<Cow<'_, str>, usize> {
    match encoding {
        TextEncoding::Utf8 => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|e| e.valid_up_to()),
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            decode_utf16(bytes, encoding).map(Cow::Owned)
        }
        TextEncoding::Gb18030 => {
            if bytes.is_ascii() {
                // ASCII is the same in both; skip the decoder.
                return std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|_| 0);
            }
            encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(bytes)
                .ok_or_else(|| first_gb18030_error(bytes))
        }
    }
}

fn first_gb18030_error(bytes: &[u8]) -> usize {
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 2);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(bad, _) => read.saturating_sub(usize::from(bad)),
        _ => read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_decodes_rare_name_characters() {
        // 䶮 (U+4DAE) is FE 9F in GB18030 and not encodable in GBK (domain.md §4.5).
        assert_eq!(
            decode(&[0xFE, 0x9F], TextEncoding::Gb18030).as_deref(),
            Ok("䶮")
        );
        // 张三 in GBK.
        assert_eq!(
            decode(&[0xD5, 0xC5, 0xC8, 0xFD], TextEncoding::Gb18030).as_deref(),
            Ok("张三")
        );
    }

    #[test]
    fn utf8_errors_give_the_offset() {
        assert_eq!(decode(b"ab\xD5\xC5", TextEncoding::Utf8), Err(2));
        assert_eq!(decode(b"ab\x81", TextEncoding::Gb18030), Err(2));
    }

    #[test]
    fn boms() {
        assert_eq!(sniff_bom(b"\xEF\xBB\xBFa"), Bom::Utf8);
        assert_eq!(
            sniff_bom(b"\xFF\xFEa\x00"),
            Bom::Utf16(TextEncoding::Utf16Le)
        );
        assert_eq!(sniff_bom(b"abc"), Bom::None);
    }
}
