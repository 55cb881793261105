//! Global histogram equalisation, bit-identical to OpenCV `cv::equalizeHist` on 8-bit images.

/// The equalisation table for a 256-bin histogram, as `cv::equalizeHist` builds it
/// (modules/imgproc/src/histogram.cpp): the first occupied bin maps to 0, then
/// `lut[i] = saturate_cast<uchar>(cumulative(i) × scale)` with `scale = 255 / (N − hist[first])`
/// in single precision and `cvRound` (round half to even). A single-valued image is left as is.
pub(crate) fn equalize_table(histogram: &[u64; 256]) -> [u8; 256] {
    let mut table: [u8; 256] = std::array::from_fn(|i| i as u8);
    let Some(first) = histogram.iter().position(|&count| count > 0) else {
        return table;
    };
    let total: u64 = histogram.iter().sum();
    if histogram[first] == total {
        return table;
    }
    // OpenCV keeps `total` and `sum` in int and multiplies in float.
    let scale = 255.0f32 / (total - histogram[first]) as i32 as f32;
    let mut sum: i32 = 0;
    table[first] = 0;
    for bin in first + 1..256 {
        sum += histogram[bin] as i32;
        let value = (sum as f32 * scale).round_ties_even();
        table[bin] = value.clamp(0.0, 255.0) as u8;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_valued_image_is_unchanged() {
        let mut histogram = [0u64; 256];
        histogram[77] = 10;
        assert_eq!(equalize_table(&histogram)[77], 77);
    }

    #[test]
    fn two_levels_spread_to_the_ends() {
        let mut histogram = [0u64; 256];
        histogram[10] = 5;
        histogram[20] = 5;
        let table = equalize_table(&histogram);
        assert_eq!((table[10], table[20]), (0, 255));
    }
}
