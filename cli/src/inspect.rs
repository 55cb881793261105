//! `raddraft inspect`: a radiograph's metadata, transfer syntax and pixel statistics.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use raddraft_ingest::{PixelStatistics, Radiograph, RadiographMeta, SourceFormat};
use serde::Serialize;

#[derive(ClapArgs)]
pub struct Args {
    /// DICOM file (CR, DX), or a PNG or JPEG image.
    file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// What `--json` prints.
#[derive(Serialize)]
struct Report<'a> {
    file: String,
    format: SourceFormat,
    width: u32,
    height: u32,
    bits_stored: u8,
    signed: bool,
    /// Of the stored values of frame 1 (colour reduced to luminance).
    statistics: PixelStatistics,
    meta: Option<&'a RadiographMeta>,
    warnings: &'a [String],
}

pub fn run(args: Args) -> Result<()> {
    let radiograph = Radiograph::open(&args.file).context("cannot inspect the radiograph")?;
    let pixels = radiograph.pixels();
    let report = Report {
        file: args.file.display().to_string(),
        format: radiograph.format(),
        width: pixels.width(),
        height: pixels.height(),
        bits_stored: pixels.bits_stored(),
        signed: pixels.is_signed(),
        statistics: pixels.statistics(),
        meta: radiograph.meta(),
        warnings: radiograph.warnings(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

fn print_text(report: &Report) {
    let line = |label: &str, value: &dyn std::fmt::Display| println!("{label:<22}{value}");
    let optional = |label: &str, value: &Option<String>| {
        if let Some(value) = value {
            line(label, value);
        }
    };
    line("file", &report.file);
    line("format", &format!("{:?}", report.format));
    line(
        "image",
        &format!(
            "{}×{} pixels, {} bits stored{}",
            report.width,
            report.height,
            report.bits_stored,
            if report.signed { ", signed" } else { "" }
        ),
    );
    let s = report.statistics;
    line(
        "stored values",
        &format!("min {} max {} mean {:.2}", s.min, s.max, s.mean),
    );
    if let Some(meta) = report.meta {
        line(
            "transfer syntax",
            &format!(
                "{} ({})",
                meta.transfer_syntax.name, meta.transfer_syntax.uid
            ),
        );
        let e = &meta.encoding;
        line(
            "photometric",
            &format!(
                "{}, {} sample(s), {} allocated / {} stored / high bit {}",
                e.photometric_interpretation,
                e.samples_per_pixel,
                e.bits_allocated,
                e.bits_stored,
                e.high_bit
            ),
        );
        if meta.number_of_frames > 1 {
            line(
                "frames",
                &format!("{} (frame 1 is used)", meta.number_of_frames),
            );
        }
        optional("modality", &meta.modality);
        optional("view position", &meta.view_position);
        optional("laterality", &meta.laterality);
        optional("body part", &meta.body_part_examined);
        optional("manufacturer", &meta.manufacturer);
        if let Some(spacing) = meta.pixel_spacing {
            line(
                "pixel spacing",
                &format!(
                    "{} × {} mm ({:?})",
                    spacing.row_mm, spacing.column_mm, spacing.source
                ),
            );
        }
        optional("patient id", &meta.patient.id);
        optional("patient name", &meta.patient.name);
        if let Some(sex) = meta.patient.sex {
            line("patient sex", &format!("{sex:?}"));
        }
        if let Some(date) = meta.patient.birth_date {
            line("birth date", &date);
        }
        optional("study uid", &meta.study.instance_uid);
        if let Some(date) = meta.study.date {
            line("study date", &date);
        }
        optional("accession number", &meta.study.accession_number);
        optional("study description", &meta.study.description);
        optional("series uid", &meta.series_instance_uid);
        optional("sop instance uid", &meta.sop_instance_uid);
        let p = &meta.presentation;
        if p.modality_lut_sequence {
            line("modality LUT", &"Modality LUT Sequence");
        } else if let (Some(slope), Some(intercept)) = (p.rescale_slope, p.rescale_intercept) {
            line("rescale", &format!("slope {slope} intercept {intercept}"));
        }
        if p.voi_lut_sequence_items > 0 {
            line(
                "VOI LUT",
                &format!("{} item(s), the first is used", p.voi_lut_sequence_items),
            );
        }
        if !p.window_centers.is_empty() {
            line(
                "window",
                &format!(
                    "centre {:?} width {:?} {}",
                    p.window_centers,
                    p.window_widths,
                    p.voi_lut_function.as_deref().unwrap_or("LINEAR")
                ),
            );
        }
        optional("presentation LUT", &p.presentation_lut_shape);
        if let Some(indication) = &meta.indication {
            line(
                "indication",
                &format!("{} ({:?})", indication.text, indication.source),
            );
        }
    }
    for warning in report.warnings {
        line("warning", warning);
    }
}
