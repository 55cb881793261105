//! The archive's state dict, read with candle's pickle reader (which executes no code) or from
//! safetensors; every lookup checks the shape and names the tensor when it fails.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};

use super::archive::{WeightsFile, WeightsFormat};
use crate::error::{EvalError, Result};

/// All tensors of `weights.th`, by their PyTorch names, as f32 on the CPU.
pub struct StateDict {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
}

impl StateDict {
    /// Load every tensor. A `weights.th` in the legacy (non-zip) torch format is refused with
    /// instructions, since only the zip container can be read without running pickle code.
    pub fn load(file: &WeightsFile) -> Result<Self> {
        let path = file.path.clone();
        let tensors: Vec<(String, Tensor)> = match file.format {
            WeightsFormat::TorchZip => {
                let mut magic = [0u8; 4];
                let is_zip = std::fs::File::open(&path)
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                    .map(|_| magic == *b"PK\x03\x04")
                    .unwrap_or(false);
                if !is_zip {
                    return Err(EvalError::invalid_file(
                        &path,
                        "weights.th is not a zip-format torch checkpoint (legacy pickle format?); \
                         re-save it once with torch.save(torch.load(p, weights_only=True), p) or \
                         convert it to weights.safetensors",
                    ));
                }
                candle_core::pickle::read_all(&path).map_err(|e| {
                    EvalError::invalid_file(&path, format!("cannot read the state dict: {e}"))
                })?
            }
            WeightsFormat::Safetensors => candle_core::safetensors::load(&path, &Device::Cpu)
                .map_err(|e| {
                    EvalError::invalid_file(&path, format!("cannot read safetensors: {e}"))
                })?
                .into_iter()
                .collect(),
        };
        let mut map = HashMap::with_capacity(tensors.len());
        for (name, tensor) in tensors {
            let tensor = if tensor.dtype() == DType::F32 || !tensor.dtype().is_float() {
                tensor
            } else {
                tensor.to_dtype(DType::F32)?
            };
            map.insert(name, tensor);
        }
        Ok(StateDict { path, tensors: map })
    }

    /// The tensor `name`, which must have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let tensor = self.tensors.get(name).ok_or_else(|| EvalError::Tensor {
            path: self.path.clone(),
            name: name.to_owned(),
            message: "missing (is this the archive of the selected model type?)".into(),
        })?;
        if tensor.dims() != shape {
            return Err(EvalError::Tensor {
                path: self.path.clone(),
                name: name.to_owned(),
                message: format!("shape {:?}, expected {:?}", tensor.dims(), shape),
            });
        }
        Ok(tensor.to_dtype(DType::F32)?.contiguous()?)
    }

    /// Like [`StateDict::get`], but removes the tensor, so its memory goes as soon as the caller
    /// has converted it.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let tensor = self.get(name, shape)?;
        self.tensors.remove(name);
        Ok(tensor)
    }

    /// The shape of tensor `name`, if present.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.get(name).map(|t| t.dims().to_vec())
    }

    /// The file the tensors came from.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}
