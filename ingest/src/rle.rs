//! RLE Lossless decoding (DICOM PS3.5 Annex G): a 64-byte header of segment offsets, then one
//! PackBits segment per byte plane, most significant byte first, sample by sample.

/// Decodes one RLE frame into interleaved samples (bit patterns), `rows × columns × samples`.
pub(crate) fn decode_frame(
    fragment: &[u8],
    rows: u32,
    columns: u32,
    samples_per_pixel: u16,
    bytes_per_sample: usize,
) -> Result<Vec<u16>, String> {
    let pixels = rows as usize * columns as usize;
    let spp = usize::from(samples_per_pixel);
    let expected_segments = spp * bytes_per_sample;
    let header = fragment.get(..64).ok_or_else(|| {
        format!(
            "the frame is {} bytes, shorter than the 64-byte RLE header",
            fragment.len()
        )
    })?;
    let word = |i: usize| {
        u32::from_le_bytes([
            header[4 * i],
            header[4 * i + 1],
            header[4 * i + 2],
            header[4 * i + 3],
        ]) as usize
    };
    let segment_count = word(0);
    if segment_count != expected_segments {
        return Err(format!(
            "the RLE header lists {segment_count} segments but {samples_per_pixel} sample(s) of {bytes_per_sample} byte(s) need {expected_segments}"
        ));
    }
    let mut offsets: Vec<usize> = (1..=segment_count).map(word).collect();
    offsets.push(fragment.len());
    if offsets.windows(2).any(|w| w[0] > w[1]) || offsets[0] < 64 {
        return Err(format!(
            "the RLE segment offsets {:?} are out of order or overlap the header",
            &offsets[..segment_count]
        ));
    }

    let mut out = vec![0u16; pixels * spp];
    let mut plane = vec![0u8; pixels];
    for segment in 0..segment_count {
        let data = &fragment[offsets[segment]..offsets[segment + 1]];
        unpack_bits(data, &mut plane)
            .map_err(|detail| format!("RLE segment {}: {detail}", segment + 1))?;
        let sample = segment / bytes_per_sample;
        // Segments run from the most significant byte to the least.
        let shift = 8 * (bytes_per_sample - 1 - segment % bytes_per_sample);
        for (pixel, &byte) in plane.iter().enumerate() {
            out[pixel * spp + sample] |= u16::from(byte) << shift;
        }
    }
    Ok(out)
}

/// PackBits: a header byte n in 0..=127 copies the next n + 1 bytes, n in -127..=-1 repeats the
/// next byte 1 - n times, -128 does nothing. The segment must fill `plane` exactly; bytes past
/// the end (segments are padded to even length) are ignored.
fn unpack_bits(data: &[u8], plane: &mut [u8]) -> Result<(), String> {
    let mut written = 0;
    let mut pos = 0;
    while written < plane.len() {
        let Some(&header) = data.get(pos) else {
            return Err(format!("ends after {written} of {} bytes", plane.len()));
        };
        pos += 1;
        let n = header as i8;
        if n >= 0 {
            let count = n as usize + 1;
            let literal = data.get(pos..pos + count).ok_or_else(|| {
                format!("a literal run of {count} bytes runs past the segment end")
            })?;
            let take = count.min(plane.len() - written);
            plane[written..written + take].copy_from_slice(&literal[..take]);
            written += take;
            pos += count;
        } else if n != -128 {
            let count = (1 - i32::from(n)) as usize;
            let &byte = data
                .get(pos)
                .ok_or_else(|| "a repeat run has no byte to repeat".to_string())?;
            let take = count.min(plane.len() - written);
            plane[written..written + take].fill(byte);
            written += take;
            pos += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_literal_and_repeat_runs() {
        // PS3.5 G.3.1 semantics: 2 literal bytes, then 0x07 repeated 4 times.
        let mut plane = [0u8; 6];
        unpack_bits(&[1, 0xAA, 0xBB, (-3i8) as u8, 0x07], &mut plane).unwrap();
        assert_eq!(plane, [0xAA, 0xBB, 7, 7, 7, 7]);
    }

    #[test]
    fn short_segment_is_an_error_not_a_panic() {
        let mut plane = [0u8; 6];
        assert!(unpack_bits(&[5, 1, 2], &mut plane).is_err());
        assert!(unpack_bits(&[], &mut plane).is_err());
        assert!(decode_frame(&[0; 10], 2, 2, 1, 2).is_err());
    }
}
