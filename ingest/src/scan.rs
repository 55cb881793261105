//! A structural pre-check of the data set before dicom-object parses it: every declared element,
//! item and fragment length must fit in the bytes that remain, and sequences may nest at most
//! [`MAX_NESTING`] deep.
//!
//! dicom-parser 0.10.1 allocates and zero-fills each value to its declared length before reading
//! it, so a 200-byte file declaring a 4 GB element costs 4 GB of memory, and it recurses once per
//! nested sequence. Found by fuzzing (`ingest/fuzz`, target `ingest`).

use std::io::Read;

use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

/// Deepest sequence / item nesting accepted; real radiographs nest a handful of levels.
pub(crate) const MAX_NESTING: usize = 32;
/// Largest deflated data set inflated for checking (bigger than any accepted image).
const MAX_INFLATED: u64 = 1 << 30;
const UNDEFINED: u32 = 0xFFFF_FFFF;
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);

/// What is wrong with the structure.
#[derive(Debug)]
pub(crate) enum Problem {
    /// A length runs past the end of the input.
    Truncated(String),
    /// Anything else (nesting too deep, stray delimiters, oversized inflated data).
    Malformed(String),
}

/// Checks the file meta group of a Part 10 stream starting at its "DICM" marker, before
/// dicom-object reads it (it too allocates declared lengths up front).
pub(crate) fn check_meta_group(stream: &[u8]) -> Result<(), Problem> {
    let body = stream.get(4..).unwrap_or_default();
    Walker::new(body, true, true).walk(Some(0x0002)).map(drop)
}

/// Checks a Part 10 stream starting at its "DICM" marker; `transfer_syntax_uid` is the one
/// the file meta group declares.
pub(crate) fn check(stream: &[u8], transfer_syntax_uid: &str) -> Result<(), Problem> {
    let body = stream.get(4..).unwrap_or_default();
    // The file meta group is always explicit VR little endian.
    let mut meta = Walker::new(body, true, true);
    let data_set_start = meta.walk(Some(0x0002))?;
    let data_set = &body[data_set_start..];
    match transfer_syntax_uid {
        "1.2.840.10008.1.2" => Walker::new(data_set, false, true).walk(None).map(drop),
        "1.2.840.10008.1.2.2" => Walker::new(data_set, true, false).walk(None).map(drop),
        "1.2.840.10008.1.2.1.99" => {
            let mut inflated = Vec::new();
            flate2::read::DeflateDecoder::new(data_set)
                .take(MAX_INFLATED + 1)
                .read_to_end(&mut inflated)
                .map_err(|e| {
                    Problem::Malformed(format!("the deflated data set cannot be inflated: {e}"))
                })?;
            if inflated.len() as u64 > MAX_INFLATED {
                return Err(Problem::Malformed(
                    "the deflated data set inflates to more than 1 GiB".into(),
                ));
            }
            Walker::new(&inflated, true, true).walk(None).map(drop)
        }
        _ => Walker::new(data_set, true, true).walk(None).map(drop),
    }
}

struct Walker<'a> {
    data: &'a [u8],
    pos: usize,
    explicit: bool,
    little_endian: bool,
}

/// An open sequence or item: where it ends (`None`: at its delimiter), and whether its
/// contents are explicit VR (a UN of undefined length holds implicit VR contents).
struct Container {
    end: Option<usize>,
    explicit: bool,
}

impl<'a> Walker<'a> {
    fn new(data: &'a [u8], explicit: bool, little_endian: bool) -> Self {
        Walker {
            data,
            pos: 0,
            explicit,
            little_endian,
        }
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn u16(&mut self) -> Option<u16> {
        let bytes = self.data.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        let bytes = [bytes[0], bytes[1]];
        Some(if self.little_endian {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        })
    }

    fn u32(&mut self) -> Option<u32> {
        let bytes = self.data.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        let bytes = [bytes[0], bytes[1], bytes[2], bytes[3]];
        Some(if self.little_endian {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    }

    fn fits(&self, what: &str, length: u32) -> Result<usize, Problem> {
        let length = length as usize;
        if length > self.remaining() {
            return Err(Problem::Truncated(format!(
                "{what} declares {length} bytes but only {} remain",
                self.remaining()
            )));
        }
        Ok(length)
    }

    /// Walks element headers until the input ends or, with `only_group`, until an element of
    /// another group starts; returns where it stopped.
    fn walk(&mut self, only_group: Option<u16>) -> Result<usize, Problem> {
        let mut open: Vec<Container> = Vec::new();
        loop {
            while open
                .last()
                .is_some_and(|c| c.end.is_some_and(|end| self.pos >= end))
            {
                open.pop();
            }
            // Fewer than 8 bytes cannot hold a header; leave trailing bytes to the parser.
            if self.remaining() < 8 {
                return Ok(self.pos);
            }
            let start = self.pos;
            let (Some(group), Some(element)) = (self.u16(), self.u16()) else {
                return Ok(start);
            };
            if let Some(only) = only_group {
                if open.is_empty() && group != only {
                    return Ok(start);
                }
            }
            let explicit = open.last().map_or(self.explicit, |c| c.explicit);
            if group == 0xFFFE {
                let length = self.u32().unwrap_or(0);
                match element {
                    0xE000 => {
                        let end = match length {
                            UNDEFINED => None,
                            n => Some(self.pos + self.fits("an item", n)?),
                        };
                        open.push(Container { end, explicit });
                    }
                    // Item / sequence delimiters close the innermost container of undefined length.
                    0xE00D | 0xE0DD => {
                        if let Some(index) = open.iter().rposition(|c| c.end.is_none()) {
                            open.truncate(index);
                        }
                    }
                    _ => {
                        return Err(Problem::Malformed(format!(
                            "unexpected delimitation tag (FFFE,{element:04X}) at byte {start}"
                        )))
                    }
                }
                if open.len() > MAX_NESTING {
                    return Err(Problem::Malformed(format!(
                        "sequences nest more than {MAX_NESTING} deep"
                    )));
                }
                continue;
            }

            let (vr, length) = if explicit {
                let vr_bytes = self.data.get(self.pos..self.pos + 2).unwrap_or_default();
                let vr = VR::from_binary([vr_bytes[0], vr_bytes[1]]).unwrap_or(VR::UN);
                self.pos += 2;
                if has_long_length(vr) {
                    self.pos += 2; // reserved
                    (vr, self.u32())
                } else {
                    (vr, self.u16().map(u32::from))
                }
            } else {
                (dictionary_vr(group, element), self.u32())
            };
            let Some(length) = length else {
                return Ok(start);
            };
            let tag = format!("element ({group:04X},{element:04X})");
            if length == UNDEFINED {
                if (group, element) == PIXEL_DATA {
                    self.skip_fragments()?;
                } else {
                    // A sequence (SQ, or UN / unknown read as an implicit VR sequence).
                    let contents_explicit = explicit && vr == VR::SQ;
                    open.push(Container {
                        end: None,
                        explicit: contents_explicit,
                    });
                }
            } else {
                let length = self.fits(&tag, length)?;
                if vr == VR::SQ {
                    open.push(Container {
                        end: Some(self.pos + length),
                        explicit,
                    });
                } else {
                    self.pos += length;
                }
            }
            if open.len() > MAX_NESTING {
                return Err(Problem::Malformed(format!(
                    "sequences nest more than {MAX_NESTING} deep"
                )));
            }
        }
    }

    /// Encapsulated pixel data: items of raw bytes up to the sequence delimiter.
    fn skip_fragments(&mut self) -> Result<(), Problem> {
        while self.remaining() >= 8 {
            let (group, element) = (self.u16().unwrap_or(0), self.u16().unwrap_or(0));
            let length = self.u32().unwrap_or(0);
            match (group, element) {
                (0xFFFE, 0xE000) => {
                    let length = self.fits("a pixel data fragment", length)?;
                    self.pos += length;
                }
                (0xFFFE, 0xE0DD) => return Ok(()),
                _ => {
                    return Err(Problem::Malformed(format!(
                        "({group:04X},{element:04X}) inside encapsulated pixel data"
                    )))
                }
            }
        }
        Ok(())
    }
}

/// VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2).
fn has_long_length(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB
            | VR::OD
            | VR::OF
            | VR::OL
            | VR::OV
            | VR::OW
            | VR::SQ
            | VR::SV
            | VR::UC
            | VR::UN
            | VR::UR
            | VR::UT
            | VR::UV
    )
}

/// The VR an implicit VR reader would give a tag: the dictionary's, SQ-or-not is what matters.
fn dictionary_vr(group: u16, element: u16) -> VR {
    match StandardDataDictionary
        .by_tag(Tag(group, element))
        .map(|entry| entry.vr)
    {
        Some(VirtualVr::Exact(vr)) => vr,
        _ => VR::UN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit_element(tag: (u16, u16), vr: &[u8; 2], value_length: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&tag.0.to_le_bytes());
        out.extend_from_slice(&tag.1.to_le_bytes());
        out.extend_from_slice(vr);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&value_length.to_le_bytes());
        out
    }

    #[test]
    fn a_length_past_the_end_is_truncation() {
        let data = explicit_element((0x0009, 0x0010), b"OB", 4_000_000_000);
        let result = Walker::new(&data, true, true).walk(None);
        assert!(matches!(result, Err(Problem::Truncated(_))), "{result:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut data = Vec::new();
        for _ in 0..=MAX_NESTING {
            data.extend(explicit_element((0x0040, 0x0275), b"SQ", UNDEFINED));
            data.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let result = Walker::new(&data, true, true).walk(None);
        assert!(matches!(result, Err(Problem::Malformed(_))), "{result:?}");
    }
}
