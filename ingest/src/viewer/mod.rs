//! What an image viewer needs from a radiograph: 16-bit pixel values after the Modality LUT for
//! window and level on the GPU, the window presets and VOI LUTs of the header, and a browsable
//! tag list.

mod header;
mod pixels;

pub use header::{image_header, ImageHeader, TagEntry, VoiLutPreset, WindowPreset};
pub use pixels::{viewer_pixels, ViewerPixels};
