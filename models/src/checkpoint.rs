//! Loading a checkpoint directory in Hugging Face layout: `config.json`, (sharded) safetensors,
//! `tokenizer.json` and the optional `preprocessor_config.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use image::RgbImage;
use serde::Deserialize;

use crate::config::PaliGemma2Config;
use crate::device::ModelDType;
use crate::error::{ModelError, Result};
use crate::paligemma2::{ModelOptions, PaliGemma2};
use crate::preprocess::{self, ResizeFilter};
use crate::prompt::PromptTokenizer;
use crate::weights::SafetensorsFiles;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub dtype: ModelDType,
    pub device: Device,
    pub model: ModelOptions,
    /// Overrides the resize filter of `preprocessor_config.json`.
    pub resize: Option<ResizeFilter>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            dtype: ModelDType::F32,
            device: Device::Cpu,
            model: ModelOptions::default(),
            resize: None,
        }
    }
}

/// How images are turned into `pixel_values`.
#[derive(Debug, Clone, Copy)]
pub struct ImagePreprocessing {
    pub size: usize,
    pub filter: ResizeFilter,
}

#[derive(Deserialize)]
struct PreprocessorConfigFile {
    #[serde(default)]
    size: Option<SizeField>,
    #[serde(default)]
    resample: Option<u32>,
    #[serde(default)]
    rescale_factor: Option<f64>,
    #[serde(default)]
    image_mean: Option<Vec<f64>>,
    #[serde(default)]
    image_std: Option<Vec<f64>>,
    /// raddraft extension: `bv-bilinear` / `bv-bilinear-aa` for big_vision fine-tunes.
    #[serde(default)]
    raddraft_resize: Option<String>,
}

#[derive(Deserialize)]
struct SizeField {
    height: usize,
    width: usize,
}

impl ImagePreprocessing {
    fn from_dir(dir: &Path, image_size: usize) -> Result<Self> {
        let path = dir.join("preprocessor_config.json");
        let default = Self {
            size: image_size,
            filter: ResizeFilter::PilBicubic,
        };
        if !path.is_file() {
            return Ok(default);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        let file: PreprocessorConfigFile =
            serde_json::from_str(&text).map_err(|source| ModelError::Json {
                path: path.clone(),
                source,
            })?;
        let invalid = |reason: String| ModelError::InvalidConfig {
            path: path.clone(),
            reason,
        };
        if let Some(size) = &file.size {
            if size.height != image_size || size.width != image_size {
                return Err(invalid(format!(
                    "size {}x{} differs from the vision tower's image_size {image_size}",
                    size.width, size.height
                )));
            }
        }
        let standard = |v: &Option<Vec<f64>>| {
            v.as_ref()
                .is_none_or(|v| v.iter().all(|x| (x - 0.5).abs() < 1e-9))
        };
        if !standard(&file.image_mean) || !standard(&file.image_std) {
            return Err(invalid(
                "image_mean and image_std must be 0.5 as in every PaliGemma checkpoint".into(),
            ));
        }
        if file
            .rescale_factor
            .is_some_and(|f| (f - 1.0 / 255.0).abs() > 1e-12)
        {
            return Err(invalid("rescale_factor must be 1/255".into()));
        }
        let filter = match (&file.raddraft_resize, file.resample) {
            (Some(name), _) => name.parse()?,
            (None, None | Some(3)) => ResizeFilter::PilBicubic,
            (None, Some(other)) => {
                return Err(invalid(format!(
                    "resample {other} is not supported (PaliGemma uses 3, bicubic)"
                )))
            }
        };
        Ok(Self { filter, ..default })
    }
}

/// A loaded checkpoint: model, tokenizer and preprocessing, ready to draft.
pub struct Checkpoint {
    pub dir: PathBuf,
    pub config: PaliGemma2Config,
    pub model: PaliGemma2,
    pub tokenizer: PromptTokenizer,
    pub preprocessing: ImagePreprocessing,
    pub dtype: ModelDType,
    /// How the decoder's weights are stored (`--quant`).
    pub quantization: crate::device::Quantization,
    pub load_s: f64,
}

impl Checkpoint {
    pub fn load(dir: &Path, options: &LoadOptions) -> Result<Self> {
        let start = Instant::now();
        if !dir.is_dir() {
            return Err(ModelError::NotADirectory(dir.to_path_buf()));
        }
        let config = PaliGemma2Config::from_file(&dir.join("config.json"))?;
        let tokenizer =
            PromptTokenizer::from_file(&dir.join("tokenizer.json"), config.image_token_index)?;
        let mut preprocessing = ImagePreprocessing::from_dir(dir, config.vision_config.image_size)?;
        if let Some(filter) = options.resize {
            preprocessing.filter = filter;
        }
        let files = SafetensorsFiles::open_dir(dir)?;
        let model = PaliGemma2::load(
            &config,
            &files,
            options.dtype.to_candle(),
            &options.device,
            options.model,
        )?;
        drop(files);
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            model,
            tokenizer,
            preprocessing,
            dtype: options.dtype,
            quantization: options.model.quantization,
            load_s: start.elapsed().as_secs_f64(),
        })
    }

    /// Checks a checkpoint directory without reading its weights: the config, the tokenizer, the
    /// preprocessing config, the safetensors headers, and that every tensor the model needs is
    /// present with the right shape and nothing is left over. Returns the config.
    pub fn validate(dir: &Path) -> Result<PaliGemma2Config> {
        if !dir.is_dir() {
            return Err(ModelError::NotADirectory(dir.to_path_buf()));
        }
        let config = PaliGemma2Config::from_file(&dir.join("config.json"))?;
        PromptTokenizer::from_file(&dir.join("tokenizer.json"), config.image_token_index)?;
        ImagePreprocessing::from_dir(dir, config.vision_config.image_size)?;
        let files = SafetensorsFiles::open_dir(dir)?.shapes_only();
        PaliGemma2::load(
            &config,
            &files,
            candle_core::DType::BF16,
            &Device::Cpu,
            ModelOptions::default(),
        )?;
        Ok(config)
    }

    /// The warning label of the bundled random-weight demo checkpoint, if this is it.
    pub fn demo_warning(&self) -> Option<&str> {
        self.config.raddraft_demo.as_deref()
    }

    /// `pixel_values` `[1, 3, S, S]` in f32 for an 8-bit RGB image.
    pub fn pixel_values(&self, image: &RgbImage) -> Result<Tensor> {
        preprocess::pixel_values(
            image,
            self.preprocessing.size,
            self.preprocessing.filter,
            self.model.device(),
            candle_core::DType::F32,
        )
    }

    /// Token ids of the prefix for `prompt`.
    pub fn prefix_ids(&self, prompt: &str) -> Result<Vec<u32>> {
        self.tokenizer
            .encode_prefix(prompt, self.model.num_image_tokens())
    }
}
