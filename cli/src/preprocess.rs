//! `raddraft preprocess`: write a radiograph as PNG through a pixel profile.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use image::{DynamicImage, GrayImage};
use raddraft_ingest::{Profile, Radiograph, RenderedImage};
use raddraft_models::preprocess::{resize_rgb8, ResizeFilter};

#[derive(ClapArgs)]
pub struct Args {
    /// DICOM file (CR, DX), or a PNG or JPEG image.
    file: PathBuf,
    /// Pixel profile: mimic-cxr-jpg (what MIMIC-trained models saw: stored values, min-max,
    /// MONOCHROME1 inverted, histogram-equalised), display (Modality LUT, VOI LUT or window,
    /// polarity: what a DICOM viewer shows) or raw (stored values, 16-bit PNG).
    #[arg(long, default_value = "mimic-cxr-jpg")]
    profile: Profile,
    /// Resize to N×N with the model's Pillow-identical bicubic filter (8-bit profiles only).
    #[arg(long, value_name = "N")]
    size: Option<u32>,
    /// Output PNG file.
    #[arg(long, value_name = "OUT.png")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let radiograph = Radiograph::open(&args.file).context("cannot preprocess the radiograph")?;
    let image = match (args.profile, args.size) {
        (Profile::Raw, Some(_)) => {
            bail!("--size resizes 8-bit images for the model; the raw profile is 16-bit stored values")
        }
        (_, Some(0)) => bail!("--size must be at least 1"),
        (Profile::Raw, None) => match radiograph.render(Profile::Raw) {
            RenderedImage::Gray16(image) => DynamicImage::ImageLuma16(image),
            RenderedImage::Gray8(image) => DynamicImage::ImageLuma8(image),
        },
        // Exactly what the model sees, stored as grey when the channels are equal.
        (profile, size) => {
            let rgb = radiograph.model_image(profile);
            // resize_rgb8 resizes a grey image's one plane and replicates it, so grey input
            // gives the grey rendering resized, as the model's processor would.
            let rgb = match size {
                Some(size) => resize_rgb8(&rgb, size, size, ResizeFilter::PilBicubic),
                None => rgb,
            };
            if rgb.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]) {
                let grey: Vec<u8> = rgb.pixels().map(|p| p.0[0]).collect();
                let grey = GrayImage::from_raw(rgb.width(), rgb.height(), grey)
                    .context("internal error: image size")?;
                DynamicImage::ImageLuma8(grey)
            } else {
                DynamicImage::ImageRgb8(rgb)
            }
        }
    };
    image
        .save_with_format(&args.out, image::ImageFormat::Png)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    // Warnings (extra frames, unusable LUTs) were logged by the reader.
    Ok(())
}
