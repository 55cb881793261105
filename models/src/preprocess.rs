//! Image loading, resizing and normalisation for the SigLIP vision tower.
//!
//! PaliGemma 2 fine-tunes were trained with one of two pipelines that resize differently, and the
//! model is sensitive to the difference, so the resize filter is a setting ([`ResizeFilter`]):
//!
//! - [`ResizeFilter::PilBicubic`]: Hugging Face's PIL-backed `SiglipImageProcessor`
//!   (`resample=3`). A port of Pillow 13.0.0's fixed-point separable resampler
//!   (`libImaging/Resample.c`); bit-identical to `Image.resize((w, h), Image.BICUBIC)` for 8-bit
//!   L and RGB images of any size, up or down.
//! - [`ResizeFilter::BigVisionBilinear`] and [`ResizeFilter::BigVisionBilinearAntialias`]:
//!   big_vision's `resize` op, i.e. `tf.image.resize(method="bilinear", antialias=…)` in float32,
//!   clipped to [0, 255] and truncated to uint8. Ports of TensorFlow's `ResizeBilinear`
//!   (half-pixel centres) and `ScaleAndTranslate` (triangle kernel) CPU kernels with the same
//!   float32 operation order (TensorFlow's x86 wheel uses no FMA), so the truncation lands on the
//!   same side: bit-identical to tensorflow-cpu 2.21.0. That includes its quirks: antialiased
//!   weights sum to 1 ± 1 ulp, so a flat 200 can come out as 199.
//!
//! Agreement was measured on the committed fixtures and on a 6,018-case random set (sizes
//! 1–3000 px, grey and RGB, up and down): 0 differing pixels in all three modes. The fixtures and
//! their generator live in `tests/fixtures/preprocess/`.
//!
//! [`pixel_values`] stretches the image to S×S and normalises it exactly as transformers 5.24's
//! PIL backend does. All loops are integer or float32 code that the compiler vectorises (with
//! AVX2 when the CPU has it) and rows are spread over rayon's threads.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use candle_core::{DType, Device, Tensor};
use image::{DynamicImage, GrayImage, RgbImage};
use rayon::prelude::*;

use crate::{ModelError, Result};

/// Resize filter used before the vision tower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
pub enum ResizeFilter {
    /// Pillow `BICUBIC`, as Hugging Face's `SiglipImageProcessor` (PIL backend) uses.
    #[default]
    #[serde(rename = "pil-bicubic")]
    PilBicubic,
    /// `tf.image.resize(method="bilinear", antialias=False)`, big_vision's default `resize`.
    #[serde(rename = "bv-bilinear")]
    BigVisionBilinear,
    /// `tf.image.resize(method="bilinear", antialias=True)`, big_vision's `resize(antialias=True)`.
    #[serde(rename = "bv-bilinear-aa")]
    BigVisionBilinearAntialias,
}

impl ResizeFilter {
    pub const ALL: [Self; 3] = [
        Self::PilBicubic,
        Self::BigVisionBilinear,
        Self::BigVisionBilinearAntialias,
    ];

    /// The name used on the command line and as `raddraft_resize` in `preprocessor_config.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PilBicubic => "pil-bicubic",
            Self::BigVisionBilinear => "bv-bilinear",
            Self::BigVisionBilinearAntialias => "bv-bilinear-aa",
        }
    }
}

impl fmt::Display for ResizeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResizeFilter {
    type Err = ModelError;

    fn from_str(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|filter| filter.as_str() == name)
            .ok_or_else(|| {
                ModelError::InvalidInput(format!(
                    "unknown resize filter `{name}`; choose pil-bicubic (Hugging Face), \
                     bv-bilinear or bv-bilinear-aa (big_vision)"
                ))
            })
    }
}

/// Reads a PNG or JPEG file as 8-bit RGB.
///
/// Grey images become RGB by copying the grey level into all three channels and alpha is dropped,
/// as Pillow's `convert("RGB")` does. 16-bit samples are first reduced to 8 bits with
/// `round(v · 255 / 65535)` (the `image` crate's rule). Pillow has no such step: its
/// `convert("RGB")` saturates 16-bit grey at 255 and keeps the high byte of 16-bit RGB, which
/// would white out a radiograph, so do any windowing before calling this.
///
/// JPEG decoding uses the `image` crate's decoder, not libjpeg-turbo as Pillow does; decoded
/// pixels can differ from Pillow's by a few grey levels (measured in the fixture tests).
pub fn load_image(path: &Path) -> Result<RgbImage> {
    let image_error = |reason: String| ModelError::Image {
        path: path.to_path_buf(),
        reason,
    };
    let reader = image::ImageReader::open(path)
        .and_then(|reader| reader.with_guessed_format())
        .map_err(|err| image_error(format!("cannot read the file: {err}")))?;
    let decoded = reader
        .decode()
        .map_err(|err| image_error(format!("not a readable PNG or JPEG image: {err}")))?;
    if decoded.width() == 0 || decoded.height() == 0 {
        return Err(image_error(format!(
            "image has no pixels ({}×{})",
            decoded.width(),
            decoded.height()
        )));
    }
    rgb8_like_pil(decoded).ok_or_else(|| image_error("unexpected sample layout".into()))
}

fn rgb8_like_pil(decoded: DynamicImage) -> Option<RgbImage> {
    let (width, height) = (decoded.width(), decoded.height());
    let rgb = match decoded {
        DynamicImage::ImageRgb8(rgb) => return Some(rgb),
        DynamicImage::ImageLuma8(grey) => expand_to_rgb(grey.as_raw(), 1, |v| v),
        DynamicImage::ImageLumaA8(grey) => expand_to_rgb(grey.as_raw(), 2, |v| v),
        DynamicImage::ImageRgba8(rgba) => expand_to_rgb(rgba.as_raw(), 4, |v| v),
        DynamicImage::ImageLuma16(grey) => expand_to_rgb(grey.as_raw(), 1, u16_to_u8),
        DynamicImage::ImageLumaA16(grey) => expand_to_rgb(grey.as_raw(), 2, u16_to_u8),
        DynamicImage::ImageRgb16(rgb) => expand_to_rgb(rgb.as_raw(), 3, u16_to_u8),
        DynamicImage::ImageRgba16(rgba) => expand_to_rgb(rgba.as_raw(), 4, u16_to_u8),
        other => return Some(other.to_rgb8()),
    };
    RgbImage::from_raw(width, height, rgb)
}

/// Interleaved samples with `channels` per pixel → RGB: grey (1–2 channels) is copied into R, G
/// and B; an alpha channel is dropped.
fn expand_to_rgb<T: Copy>(samples: &[T], channels: usize, to_u8: impl Fn(T) -> u8) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(samples.len() / channels * 3);
    for pixel in samples.chunks_exact(channels) {
        if channels < 3 {
            let grey = to_u8(pixel[0]);
            rgb.extend_from_slice(&[grey; 3]);
        } else {
            rgb.extend(pixel[..3].iter().map(|&v| to_u8(v)));
        }
    }
    rgb
}

/// `round(v · 255 / 65535)`; there are no ties, since 65535 / 255 = 257 is odd.
fn u16_to_u8(v: u16) -> u8 {
    ((u32::from(v) * 255 + 32767) / 65535) as u8
}

/// Resizes an 8-bit RGB image to `width`×`height` (a plain stretch). An empty source gives a black
/// image.
///
/// Every filter works channel by channel, so the image is resized as three planes, or as one
/// when it is grey (R = G = B, as radiographs from [`load_image`] are).
pub fn resize_rgb8(src: &RgbImage, width: u32, height: u32, filter: ResizeFilter) -> RgbImage {
    let (in_w, in_h) = (src.width() as usize, src.height() as usize);
    let samples = &src.as_raw()[..in_w * in_h * 3];
    let resize = |plane: &[u8]| {
        let plane = Plane {
            samples: plane,
            width: in_w,
            height: in_h,
        };
        resize_plane(plane, width as usize, height as usize, filter)
    };
    let resized = if let Some(grey) = grey_plane(samples) {
        let grey = resize(&grey);
        interleave_rgb([&grey, &grey, &grey])
    } else {
        let planes = split_channels(samples);
        let resized: Vec<Vec<u8>> = planes.par_iter().map(|plane| resize(plane)).collect();
        interleave_rgb([&resized[0], &resized[1], &resized[2]])
    };
    RgbImage::from_raw(width, height, resized)
        .expect("the resamplers return width × height samples")
}

/// Resizes an 8-bit grey image with the same algorithm as [`resize_rgb8`].
pub fn resize_gray8(src: &GrayImage, width: u32, height: u32, filter: ResizeFilter) -> GrayImage {
    let (in_w, in_h) = (src.width() as usize, src.height() as usize);
    let plane = Plane {
        samples: &src.as_raw()[..in_w * in_h],
        width: in_w,
        height: in_h,
    };
    let resized = resize_plane(plane, width as usize, height as usize, filter);
    GrayImage::from_raw(width, height, resized)
        .expect("the resamplers return width × height samples")
}

// The resampler and the RGB (de)interleaving loops are compiled for AVX2 where the CPU has it
// (`multiversion!`): baseline x86-64 (SSE2) lacks the 32-bit multiplies and byte shuffles that
// they vectorise to; AVX2 makes them 3–6× faster.

/// Pixels per rayon task when (de)interleaving RGB.
const PIXELS_PER_TASK: usize = 1 << 16;

/// The R plane of `rgb` if G and B equal R everywhere.
fn grey_plane(rgb: &[u8]) -> Option<Vec<u8>> {
    let mut grey = vec![0; rgb.len() / 3];
    let is_grey = grey
        .par_chunks_mut(PIXELS_PER_TASK)
        .zip(rgb.par_chunks(3 * PIXELS_PER_TASK))
        .all(|(grey, rgb)| copy_red_if_grey(rgb, grey));
    is_grey.then_some(grey)
}

fn split_channels(rgb: &[u8]) -> [Vec<u8>; 3] {
    let pixels = rgb.len() / 3;
    let [mut r, mut g, mut b] = [vec![0; pixels], vec![0; pixels], vec![0; pixels]];
    r.par_chunks_mut(PIXELS_PER_TASK)
        .zip(g.par_chunks_mut(PIXELS_PER_TASK))
        .zip(b.par_chunks_mut(PIXELS_PER_TASK))
        .zip(rgb.par_chunks(3 * PIXELS_PER_TASK))
        .for_each(|(((r, g), b), rgb)| deinterleave(rgb, [r, g, b]));
    [r, g, b]
}

fn interleave_rgb(planes: [&[u8]; 3]) -> Vec<u8> {
    let [r, g, b] = planes;
    let mut rgb = vec![0; r.len() * 3];
    rgb.par_chunks_mut(3 * PIXELS_PER_TASK)
        .zip(r.par_chunks(PIXELS_PER_TASK))
        .zip(g.par_chunks(PIXELS_PER_TASK))
        .zip(b.par_chunks(PIXELS_PER_TASK))
        .for_each(|(((rgb, r), g), b)| interleave(rgb, [r, g, b]));
    rgb
}

raddraft_kernels::multiversion! {
    [avx2]
    /// Copies R into `grey`; false as soon as a chunk of pixels has G or B different from R.
    fn copy_red_if_grey(rgb: &[u8], grey: &mut [u8]) -> bool {
        for (rgb, grey) in rgb.chunks(3 * 4096).zip(grey.chunks_mut(4096)) {
            let mut difference = 0;
            for (dst, pixel) in grey.iter_mut().zip(rgb.chunks_exact(3)) {
                *dst = pixel[0];
                difference |= (pixel[0] ^ pixel[1]) | (pixel[0] ^ pixel[2]);
            }
            if difference != 0 {
                return false;
            }
        }
        true
    }
}

raddraft_kernels::multiversion! {
    [avx2]
    fn deinterleave(rgb: &[u8], planes: [&mut [u8]; 3]) {
        let [r, g, b] = planes;
        for (((pixel, r), g), b) in rgb.chunks_exact(3).zip(r).zip(g).zip(b) {
            (*r, *g, *b) = (pixel[0], pixel[1], pixel[2]);
        }
    }
}

raddraft_kernels::multiversion! {
    [avx2]
    fn interleave(rgb: &mut [u8], planes: [&[u8]; 3]) {
        let [r, g, b] = planes;
        for (((dst, &r), &g), &b) in rgb.chunks_exact_mut(3).zip(r).zip(g).zip(b) {
            dst.copy_from_slice(&[r, g, b]);
        }
    }
}

/// Resizes one 8-bit plane; an empty source or target gives a black (or empty) plane.
fn resize_plane(src: Plane<'_>, out_w: usize, out_h: usize, filter: ResizeFilter) -> Vec<u8> {
    if src.width == 0 || src.height == 0 || out_w == 0 || out_h == 0 {
        return vec![0; out_w * out_h];
    }
    match filter {
        ResizeFilter::PilBicubic => pillow::resize_bicubic(src, out_w, out_h),
        ResizeFilter::BigVisionBilinear => tensorflow::resize_bilinear(src, out_w, out_h),
        ResizeFilter::BigVisionBilinearAntialias => {
            tensorflow::resize_bilinear_antialias(src, out_w, out_h)
        }
    }
}

/// `pixel_values` `[1, 3, size, size]` for the vision tower: the image stretched to size×size
/// (no crop), then `(x · 1/255 − 0.5) / 0.5` computed as transformers 5.24's PIL backend does,
/// then cast to `dtype`.
pub fn pixel_values(
    img: &RgbImage,
    size: usize,
    filter: ResizeFilter,
    device: &Device,
    dtype: DType,
) -> Result<Tensor> {
    if img.width() == 0 || img.height() == 0 {
        return Err(ModelError::InvalidInput("the image has no pixels".into()));
    }
    let side = u32::try_from(size)
        .ok()
        .filter(|&side| side > 0)
        .ok_or_else(|| ModelError::InvalidInput(format!("invalid image size {size}")))?;
    let resized = resize_rgb8(img, side, side, filter);
    let lookup: [f32; 256] = std::array::from_fn(|v| siglip_normalise(v as u8));
    let mut chw = vec![0f32; 3 * size * size];
    let (r, gb) = chw.split_at_mut(size * size);
    let (g, b) = gb.split_at_mut(size * size);
    for (((pixel, r), g), b) in resized.as_raw().chunks_exact(3).zip(r).zip(g).zip(b) {
        *r = lookup[usize::from(pixel[0])];
        *g = lookup[usize::from(pixel[1])];
        *b = lookup[usize::from(pixel[2])];
    }
    let pixels = Tensor::from_vec(chw, (1, 3, size, size), device)?;
    Ok(if dtype == DType::F32 {
        pixels
    } else {
        pixels.to_dtype(dtype)?
    })
}

/// transformers' `rescale` multiplies in float64 and casts to float32; `normalize` then computes
/// `(x - 0.5) / 0.5` in float32.
fn siglip_normalise(value: u8) -> f32 {
    const RESCALE_FACTOR: f64 = 1.0 / 255.0;
    let rescaled = (f64::from(value) * RESCALE_FACTOR) as f32;
    (rescaled - 0.5) / 0.5
}

/// One 8-bit channel of an image, rows top to bottom without padding.
#[derive(Clone, Copy)]
struct Plane<'a> {
    samples: &'a [u8],
    width: usize,
    height: usize,
}

/// Port of Pillow 13.0.0 `ImagingResample` (`src/libImaging/Resample.c`) for 8-bit images and the
/// bicubic filter.
mod pillow {
    use super::*;

    const PRECISION_BITS: u32 = 32 - 8 - 2;
    /// Pillow starts every accumulator at one half for round-to-nearest.
    const HALF: i32 = 1 << (PRECISION_BITS - 1);
    const BICUBIC_SUPPORT: f64 = 2.0;
    /// Rows resampled together by the horizontal pass (a multiple of 8 for the tile transpose).
    const LANES: usize = 48;
    /// Samples per accumulator chunk in the vertical pass.
    const CHUNK: usize = 1024;

    pub(super) fn resize_bicubic(src: Plane<'_>, out_w: usize, out_h: usize) -> Vec<u8> {
        let (in_w, in_h) = (src.width, src.height);
        let horizontal = (out_w != in_w).then(|| Taps::bicubic(in_w, out_w));
        let vertical = (out_h != in_h).then(|| Taps::bicubic(in_h, out_h));
        match (horizontal, vertical) {
            (None, None) => src.samples.to_vec(),
            (Some(horizontal), None) => horizontal_pass(src, 0..in_h, &horizontal),
            (None, Some(vertical)) => vertical_pass(src, &vertical, 0),
            (Some(horizontal), Some(vertical)) if horizontal_first(in_w, in_h, out_w, out_h) => {
                // Pillow resamples horizontally only the rows the vertical pass reads.
                let rows = vertical.used_inputs();
                let temp = horizontal_pass(src, rows.clone(), &horizontal);
                let temp = Plane {
                    samples: &temp,
                    width: out_w,
                    height: rows.len(),
                };
                vertical_pass(temp, &vertical, rows.start)
            }
            (Some(horizontal), Some(vertical)) => {
                let temp = vertical_pass(src, &vertical, 0);
                let temp = Plane {
                    samples: &temp,
                    width: in_w,
                    height: out_h,
                };
                horizontal_pass(temp, 0..out_h, &horizontal)
            }
        }
    }

    /// Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many
    /// pixels as the width; the order changes the rounding between the passes.
    fn horizontal_first(in_w: usize, in_h: usize, out_w: usize, out_h: usize) -> bool {
        let height_cut = in_h as i64 - out_h as i64;
        let width_cut = in_w as i64 - out_w as i64;
        !(height_cut > 0 && height_cut > width_cut * 2)
    }

    /// Fixed-point filter taps along one axis: output `i` reads `lens[i]` inputs from `starts[i]`.
    pub(super) struct Taps {
        starts: Vec<usize>,
        lens: Vec<usize>,
        stride: usize,
        weights: Vec<i32>,
    }

    impl Taps {
        /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the full-image box.
        pub(super) fn bicubic(in_size: usize, out_size: usize) -> Self {
            // The box is a float[4] in Pillow, so the span goes through f32.
            let scale = f64::from(in_size as f32) / out_size as f64;
            let filterscale = scale.max(1.0);
            let support = BICUBIC_SUPPORT * filterscale;
            let stride = support.ceil() as usize * 2 + 1;
            let inv_filterscale = 1.0 / filterscale;
            let mut taps = Self {
                starts: Vec::with_capacity(out_size),
                lens: Vec::with_capacity(out_size),
                stride,
                weights: vec![0; out_size * stride],
            };
            let mut float_weights = vec![0f64; stride];
            for out in 0..out_size {
                let center = (out as f64 + 0.5) * scale;
                // Truncating casts, as C's (int) conversion.
                let first = ((center - support + 0.5) as i64).max(0);
                let end = ((center + support + 0.5) as i64).min(in_size as i64);
                let len = ((end - first).max(0) as usize).min(stride);
                let mut sum = 0.0;
                for (offset, weight) in float_weights[..len].iter_mut().enumerate() {
                    let distance = (first + offset as i64) as f64 - center + 0.5;
                    *weight = bicubic(distance * inv_filterscale);
                    sum += *weight;
                }
                let fixed = &mut taps.weights[out * stride..][..len];
                for (fixed, &weight) in fixed.iter_mut().zip(&float_weights[..len]) {
                    let normalised = if sum != 0.0 { weight / sum } else { weight };
                    *fixed = to_fixed_point(normalised);
                }
                taps.starts.push(first as usize);
                taps.lens.push(len);
            }
            taps
        }

        fn len(&self) -> usize {
            self.starts.len()
        }

        pub(super) fn get(&self, out: usize) -> (usize, &[i32]) {
            let weights = &self.weights[out * self.stride..][..self.lens[out]];
            (self.starts[out], weights)
        }

        /// The input rows (or columns) that any output reads.
        fn used_inputs(&self) -> Range<usize> {
            let last = self.len() - 1;
            self.starts[0]..self.starts[last] + self.lens[last]
        }
    }

    /// Pillow's `bicubic_filter` with a = -0.5, operation for operation.
    fn bicubic(x: f64) -> f64 {
        const A: f64 = -0.5;
        let x = x.abs();
        if x < 1.0 {
            ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            (((x - 5.0) * x + 8.0) * x - 4.0) * A
        } else {
            0.0
        }
    }

    /// Matches Pillow's `normalize_coeffs_8bpc` rounding (half away from zero, then truncation).
    fn to_fixed_point(weight: f64) -> i32 {
        let scaled = weight * f64::from(1u32 << PRECISION_BITS);
        if weight < 0.0 {
            (scaled - 0.5) as i32
        } else {
            (scaled + 0.5) as i32
        }
    }

    /// Pillow's `clip8`: drop the fraction bits and saturate.
    fn clip8(accumulator: i32) -> u8 {
        (accumulator >> PRECISION_BITS).clamp(0, 255) as u8
    }

    /// Resamples the rows `rows` of `src` to `taps.len()` pixels each.
    ///
    /// Blocks of `LANES` rows are transposed so that each tap is one contiguous multiply-add over
    /// the block's rows; integer sums do not depend on order, so this is bit-identical to
    /// Pillow's per-pixel loop.
    fn horizontal_pass(src: Plane<'_>, rows: Range<usize>, taps: &Taps) -> Vec<u8> {
        let out_w = taps.len();
        let mut out = vec![0u8; out_w * rows.len()];
        out.par_chunks_mut(out_w * LANES).enumerate().for_each_init(
            || (Vec::new(), Vec::new()),
            |(columns, out_columns), (block, out_block)| {
                let block_rows = out_block.len() / out_w;
                let first_sample = (rows.start + block * LANES) * src.width;
                let input = &src.samples[first_sample..][..block_rows * src.width];
                // Lanes past `block_rows` hold stale samples; their results are not copied out.
                columns.resize(src.width * LANES, 0);
                out_columns.resize(out_w * LANES, 0);
                transpose(input, src.width, block_rows, src.width, columns, LANES);
                filter_columns(columns, taps, out_columns);
                transpose(out_columns, LANES, out_w, block_rows, out_block, out_w);
            },
        );
        out
    }

    raddraft_kernels::multiversion! {
        [avx2]
        /// The horizontal filter on a transposed block: `columns[x * LANES + row]` in,
        /// `out_columns[out_x * LANES + row]` out.
        fn filter_columns(columns: &[u8], taps: &Taps, out_columns: &mut [u8]) {
            for (out_x, out) in out_columns.chunks_exact_mut(LANES).enumerate() {
                let (first, weights) = taps.get(out_x);
                let mut sums = [HALF; LANES];
                let inputs = columns[first * LANES..].chunks_exact(LANES);
                for (&weight, column) in weights.iter().zip(inputs) {
                    multiply_accumulate(&mut sums, column, weight);
                }
                for (dst, &sum) in out.iter_mut().zip(&sums) {
                    *dst = clip8(sum);
                }
            }
        }
    }

    /// Resamples every column of `src` to `taps.len()` rows. `row_offset` is the source row that
    /// `src` starts at (after a horizontal pass limited to the used rows).
    fn vertical_pass(src: Plane<'_>, taps: &Taps, row_offset: usize) -> Vec<u8> {
        let row_len = src.width;
        let mut out = vec![0u8; row_len * taps.len()];
        out.par_chunks_mut(row_len)
            .enumerate()
            .for_each(|(out_y, out_row)| {
                let (first, weights) = taps.get(out_y);
                let first_sample = (first - row_offset) * row_len;
                let input = &src.samples[first_sample..][..weights.len() * row_len];
                filter_row(input, weights, out_row);
            });
        out
    }

    raddraft_kernels::multiversion! {
        [avx2]
        /// One output row of the vertical filter: `input` holds the `weights.len()` source rows.
        fn filter_row(input: &[u8], weights: &[i32], out_row: &mut [u8]) {
            let row_len = out_row.len();
            for (chunk, out_chunk) in out_row.chunks_mut(CHUNK).enumerate() {
                let mut sums = [HALF; CHUNK];
                let sums = &mut sums[..out_chunk.len()];
                for (&weight, row) in weights.iter().zip(input.chunks_exact(row_len)) {
                    multiply_accumulate(sums, &row[chunk * CHUNK..], weight);
                }
                for (dst, &sum) in out_chunk.iter_mut().zip(sums.iter()) {
                    *dst = clip8(sum);
                }
            }
        }
    }

    /// `sums[i] += samples[i] × weight`: the inner loop of both passes.
    #[inline(always)]
    fn multiply_accumulate(sums: &mut [i32], samples: &[u8], weight: i32) {
        for (sum, &sample) in sums.iter_mut().zip(samples) {
            *sum += i32::from(sample) * weight;
        }
    }

    /// `dst[c * dst_stride + r] = src[r * src_stride + c]` for `r < rows`, `c < cols`, in 8×8
    /// tiles.
    pub(super) fn transpose(
        src: &[u8],
        src_stride: usize,
        rows: usize,
        cols: usize,
        dst: &mut [u8],
        dst_stride: usize,
    ) {
        let (tiled_rows, tiled_cols) = (rows - rows % 8, cols - cols % 8);
        for r0 in (0..tiled_rows).step_by(8) {
            for c0 in (0..tiled_cols).step_by(8) {
                let mut tile = [0u64; 8];
                for (i, word) in tile.iter_mut().enumerate() {
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(&src[(r0 + i) * src_stride + c0..][..8]);
                    *word = u64::from_le_bytes(bytes);
                }
                transpose_8x8(&mut tile);
                for (j, word) in tile.iter().enumerate() {
                    dst[(c0 + j) * dst_stride + r0..][..8].copy_from_slice(&word.to_le_bytes());
                }
            }
        }
        for r in 0..rows {
            let first_untiled = if r < tiled_rows { tiled_cols } else { 0 };
            for c in first_untiled..cols {
                dst[c * dst_stride + r] = src[r * src_stride + c];
            }
        }
    }

    /// Transposes an 8×8 byte matrix held as eight little-endian rows by swapping its 4×4, 2×2
    /// and 1×1 off-diagonal blocks (Hacker's Delight §7-3).
    fn transpose_8x8(rows: &mut [u64; 8]) {
        const STAGES: [(usize, u64); 3] = [
            (4, 0x0000_0000_FFFF_FFFF),
            (2, 0x0000_FFFF_0000_FFFF),
            (1, 0x00FF_00FF_00FF_00FF),
        ];
        for (distance, low) in STAGES {
            let shift = 8 * distance as u32;
            for i in (0..8).filter(|i| i & distance == 0) {
                let (a, b) = (rows[i], rows[i + distance]);
                rows[i] = (a & low) | ((b & low) << shift);
                rows[i + distance] = ((a >> shift) & low) | (b & !low);
            }
        }
    }
}

/// Ports of TensorFlow's CPU kernels behind `tf.image.resize(method="bilinear")`, followed by
/// big_vision's `clip(0, 255)` and truncating cast to uint8.
mod tensorflow {
    use super::*;

    /// `tf.cast(tf.clip_by_value(x, 0, 255), tf.uint8)`; `as` truncates toward zero.
    fn to_u8(value: f32) -> u8 {
        value.clamp(0.0, 255.0) as u8
    }

    /// One output coordinate of `ResizeBilinear` (`CachedInterpolation`).
    struct Interpolation {
        lower: usize,
        upper: usize,
        lerp: f32,
    }

    /// `compute_interpolation_weights` with `HalfPixelScaler`, in float32.
    fn interpolations(in_size: usize, out_size: usize) -> Vec<Interpolation> {
        let scale = in_size as f32 / out_size as f32;
        (0..out_size)
            .map(|out| {
                let position = (out as f32 + 0.5) * scale - 0.5;
                let floor = position.floor();
                Interpolation {
                    lower: (floor as i64).max(0) as usize,
                    upper: (position.ceil() as i64).min(in_size as i64 - 1) as usize,
                    lerp: position - floor,
                }
            })
            .collect()
    }

    /// `ResizeBilinear(half_pixel_centers=True)`, as `tf.image.resize(antialias=False)` calls it.
    pub(super) fn resize_bilinear(src: Plane<'_>, out_w: usize, out_h: usize) -> Vec<u8> {
        if out_w == src.width && out_h == src.height {
            return src.samples.to_vec();
        }
        let xs = interpolations(src.width, out_w);
        let ys = interpolations(src.height, out_h);
        let mut out = vec![0u8; out_w * out_h];
        out.par_chunks_mut(out_w).zip(&ys).for_each(|(out_row, y)| {
            let top = &src.samples[y.lower * src.width..][..src.width];
            let bottom = &src.samples[y.upper * src.width..][..src.width];
            for (dst, x) in out_row.iter_mut().zip(&xs) {
                let value = lerp_2d(
                    [f32::from(top[x.lower]), f32::from(top[x.upper])],
                    [f32::from(bottom[x.lower]), f32::from(bottom[x.upper])],
                    x.lerp,
                    y.lerp,
                );
                *dst = to_u8(value);
            }
        });
        out
    }

    /// TensorFlow's `compute_lerp`: along x on both rows, then along y.
    fn lerp_2d(top: [f32; 2], bottom: [f32; 2], x_lerp: f32, y_lerp: f32) -> f32 {
        let top = top[0] + (top[1] - top[0]) * x_lerp;
        let bottom = bottom[0] + (bottom[1] - bottom[0]) * x_lerp;
        top + (bottom - top) * y_lerp
    }

    /// Normalised float32 weights of `ScaleAndTranslate` along one axis.
    struct Spans {
        starts: Vec<usize>,
        lens: Vec<usize>,
        stride: usize,
        weights: Vec<f32>,
    }

    impl Spans {
        fn get(&self, out: usize) -> (usize, &[f32]) {
            let weights = &self.weights[out * self.stride..][..self.lens[out]];
            (self.starts[out], weights)
        }
    }

    /// `ComputeSpansCore` for the triangle kernel with `antialias=True`, scale `out / in` (as
    /// `tf.image.resize` computes it in float32) and no translation.
    fn triangle_spans(in_size: usize, out_size: usize) -> Spans {
        const RADIUS: f32 = 1.0;
        let scale = out_size as f32 / in_size as f32;
        let inv_scale = (1.0 / f64::from(scale)) as f32;
        let kernel_scale = inv_scale.max(1.0);
        let one_over_kernel_scale = 1.0 / kernel_scale;
        let stride = (2 * (RADIUS * kernel_scale).ceil() as usize + 1).min(in_size);
        let mut spans = Spans {
            starts: Vec::with_capacity(out_size),
            lens: Vec::with_capacity(out_size),
            stride,
            weights: vec![0.0; out_size * stride],
        };
        let mut raw = Vec::with_capacity(stride);
        for out in 0..out_size {
            let sample = (out as f32 + 0.5) * inv_scale;
            let first = (sample - RADIUS * kernel_scale - 0.5).ceil() as i64;
            let last = (sample + RADIUS * kernel_scale - 0.5).floor() as i64;
            let first = first.clamp(0, in_size as i64 - 1) as usize;
            let end = (last.clamp(0, in_size as i64 - 1) as usize + 1).min(first + stride);
            raw.clear();
            raw.extend((first..end).map(|source| {
                let position = source as f32 + 0.5 - sample;
                triangle((position * one_over_kernel_scale).abs())
            }));
            let total: f32 = raw.iter().fold(0.0, |sum, &weight| sum + weight);
            // TensorFlow leaves the weights at zero when they sum to (almost) nothing.
            if total.abs() >= 1000.0 * f32::MIN_POSITIVE {
                let one_over_total = 1.0 / total;
                let weights = &mut spans.weights[out * stride..][..raw.len()];
                for (dst, &weight) in weights.iter_mut().zip(&raw) {
                    *dst = weight * one_over_total;
                }
            }
            spans.starts.push(first);
            spans.lens.push(end.saturating_sub(first));
        }
        spans
    }

    fn triangle(x: f32) -> f32 {
        let x = x.abs();
        if x < 1.0 {
            1.0 - x
        } else {
            0.0
        }
    }

    /// `ScaleAndTranslate(kernel_type="triangle", antialias=True)`: rows first into a float32
    /// intermediate, then columns, each a running `sum += weight * sample` in float32.
    pub(super) fn resize_bilinear_antialias(src: Plane<'_>, out_w: usize, out_h: usize) -> Vec<u8> {
        let rows = triangle_spans(src.height, out_h);
        let columns = triangle_spans(src.width, out_w);
        let mut out = vec![0u8; out_w * out_h];
        out.par_chunks_mut(out_w).enumerate().for_each_init(
            Vec::new,
            |intermediate, (out_y, out_row)| {
                gather_rows(src, &rows, out_y, intermediate);
                for (out_x, dst) in out_row.iter_mut().enumerate() {
                    let (first, weights) = columns.get(out_x);
                    let inputs = &intermediate[first..];
                    let sum = weights
                        .iter()
                        .zip(inputs)
                        .fold(0f32, |sum, (&weight, &sample)| sum + weight * sample);
                    *dst = to_u8(sum);
                }
            },
        );
        out
    }

    /// One row of TensorFlow's `GatherRows`: the float32 vertical filter of output row `out_y`.
    fn gather_rows(src: Plane<'_>, rows: &Spans, out_y: usize, intermediate: &mut Vec<f32>) {
        intermediate.clear();
        intermediate.resize(src.width, 0.0);
        let (first, weights) = rows.get(out_y);
        for (&weight, input) in weights
            .iter()
            .zip(src.samples[first * src.width..].chunks_exact(src.width))
        {
            for (sum, &sample) in intermediate.iter_mut().zip(input) {
                *sum += weight * f32::from(sample);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_names_round_trip() {
        for filter in ResizeFilter::ALL {
            assert_eq!(filter.as_str().parse::<ResizeFilter>().unwrap(), filter);
            let json = serde_json::to_string(&filter).unwrap();
            assert_eq!(json, format!("\"{filter}\""));
        }
    }

    #[test]
    fn unknown_filter_lists_the_choices() {
        let message = "bicubic".parse::<ResizeFilter>().unwrap_err().to_string();
        for filter in ResizeFilter::ALL {
            assert!(message.contains(filter.as_str()), "{message}");
        }
    }

    #[test]
    fn sixteen_bit_samples_round_to_nearest() {
        assert_eq!(u16_to_u8(0), 0);
        assert_eq!(u16_to_u8(128), 0);
        assert_eq!(u16_to_u8(129), 1);
        assert_eq!(u16_to_u8(257), 1);
        assert_eq!(u16_to_u8(65535), 255);
    }

    #[test]
    fn pillow_taps_sum_to_one_in_fixed_point() {
        for (in_size, out_size) in [(3000, 896), (71, 224), (5, 56), (300, 17)] {
            let taps = pillow::Taps::bicubic(in_size, out_size);
            for out in 0..out_size {
                let sum: i32 = taps.get(out).1.iter().sum();
                assert!(
                    (sum - (1 << 22)).abs() <= 8,
                    "{in_size}->{out_size} @{out}: {sum}"
                );
            }
        }
    }

    #[test]
    fn tiled_transpose_matches_the_definition() {
        for (rows, cols) in [(48, 3000), (17, 9), (8, 8), (3, 70), (0, 5)] {
            let src: Vec<u8> = (0..rows * cols).map(|i| (i * 37 % 251) as u8).collect();
            let mut dst = vec![0u8; cols * (rows + 2)];
            pillow::transpose(&src, cols, rows, cols, &mut dst, rows + 2);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        dst[c * (rows + 2) + r],
                        src[r * cols + c],
                        "{rows}x{cols} @{r},{c}"
                    );
                }
            }
        }
    }

    #[test]
    fn rgb_is_resized_channel_by_channel() {
        let rgb = RgbImage::from_fn(53, 29, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 9) as u8, (x * y) as u8])
        });
        let grey = RgbImage::from_fn(53, 29, |x, y| image::Rgb([(x * 5) as u8 ^ (y as u8); 3]));
        for filter in ResizeFilter::ALL {
            let resized = resize_rgb8(&rgb, 31, 60, filter);
            let red = GrayImage::from_fn(53, 29, |x, y| image::Luma([rgb.get_pixel(x, y)[0]]));
            let red = resize_gray8(&red, 31, 60, filter);
            assert!(
                resized
                    .pixels()
                    .zip(red.pixels())
                    .all(|(p, r)| p[0] == r[0]),
                "{filter}"
            );
            let resized = resize_rgb8(&grey, 31, 60, filter);
            let plane = GrayImage::from_fn(53, 29, |x, y| image::Luma([grey.get_pixel(x, y)[0]]));
            let plane = resize_gray8(&plane, 31, 60, filter);
            assert!(
                resized
                    .pixels()
                    .zip(plane.pixels())
                    .all(|(p, g)| p.0 == [g[0]; 3]),
                "{filter}"
            );
        }
    }

    #[test]
    fn constant_images_stay_constant() {
        let grey = GrayImage::from_pixel(37, 23, image::Luma([200]));
        for filter in ResizeFilter::ALL {
            for (w, h) in [(5, 90), (224, 224), (3, 2), (37, 7)] {
                let resized = resize_gray8(&grey, w, h, filter);
                // TensorFlow's antialiased weights sum to 1 ± 1 ulp, and the truncating cast turns
                // 199.99998 into 199 (tensorflow-cpu 2.21 does the same).
                let lowest = match filter {
                    ResizeFilter::BigVisionBilinearAntialias => 199,
                    _ => 200,
                };
                let ok = resized.pixels().all(|p| (lowest..=200).contains(&p[0]));
                assert!(ok, "{filter} {w}x{h}");
            }
        }
    }

    #[test]
    fn empty_sizes_do_not_panic() {
        let rgb = RgbImage::new(0, 5);
        assert_eq!(
            resize_rgb8(&rgb, 4, 4, ResizeFilter::PilBicubic).dimensions(),
            (4, 4)
        );
        let rgb = RgbImage::new(3, 5);
        assert_eq!(
            resize_rgb8(&rgb, 0, 4, ResizeFilter::BigVisionBilinear).dimensions(),
            (0, 4)
        );
        let err = pixel_values(&rgb, 0, ResizeFilter::PilBicubic, &Device::Cpu, DType::F32);
        assert!(err.is_err());
    }

    #[test]
    fn pixel_values_span_minus_one_to_one() {
        assert_eq!(siglip_normalise(0), -1.0);
        assert_eq!(siglip_normalise(255), 1.0);
        let img = RgbImage::from_pixel(10, 10, image::Rgb([0, 128, 255]));
        let pixels = pixel_values(&img, 14, ResizeFilter::PilBicubic, &Device::Cpu, DType::F32)
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap();
        assert_eq!(pixels.dims(), &[1, 3, 14, 14]);
        let values = pixels.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(values[0], -1.0);
        assert_eq!(values[14 * 14], siglip_normalise(128));
        assert_eq!(values[2 * 14 * 14], 1.0);
    }
}
