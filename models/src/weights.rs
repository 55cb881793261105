//! Checkpoint weights: memory-mapped safetensors (single file or sharded with an index), strict
//! name and shape checks, and the two weight-name layouts of PaliGemma checkpoints.
//!
//! Each tensor is converted straight from the mapped bytes into its final dtype, so weights are
//! copied once (mmap → tensor storage) and the mapping is dropped after loading.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::{DType, Device, Tensor};
use memmap2::Mmap;
use rayon::prelude::*;
use safetensors::tensor::{Dtype as StDtype, Metadata, SafeTensors};

use crate::error::{ModelError, Result};

pub const SINGLE_FILE: &str = "model.safetensors";
pub const INDEX_FILE: &str = "model.safetensors.index.json";

struct MappedFile {
    path: PathBuf,
    mmap: Mmap,
    data_start: usize,
    metadata: Metadata,
}

/// All safetensors files of a checkpoint, mapped read-only.
pub struct SafetensorsFiles {
    files: Vec<MappedFile>,
    file_of: HashMap<String, usize>,
    used: Mutex<HashSet<String>>,
    shapes_only: bool,
}

impl SafetensorsFiles {
    /// Maps `model.safetensors`, or every shard listed in `model.safetensors.index.json`.
    pub fn open_dir(dir: &Path) -> Result<Self> {
        let single = dir.join(SINGLE_FILE);
        if single.is_file() {
            return Self::open_files(&[single]);
        }
        let index = dir.join(INDEX_FILE);
        if !index.is_file() {
            return Err(ModelError::NoWeights(dir.to_path_buf()));
        }
        let shards = shards_from_index(&index)?;
        let files = Self::open_files(&shards.files)?;
        for (name, shard) in &shards.weight_map {
            let listed = dir.join(shard);
            let found = files.file_of.get(name).map(|&i| &files.files[i].path);
            if found != Some(&listed) {
                return Err(ModelError::BadSafetensors {
                    path: index.clone(),
                    reason: format!(
                        "index lists `{name}` in {shard}, but that shard does not hold it"
                    ),
                });
            }
        }
        Ok(files)
    }

    pub fn open_files(paths: &[PathBuf]) -> Result<Self> {
        let mut files = Vec::with_capacity(paths.len());
        let mut file_of = HashMap::new();
        for path in paths {
            let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
            // SAFETY: the mapping is read-only; a file changed underneath us while loading is
            // reported as corrupt data by the header checks, never read out of bounds.
            let mmap = unsafe { Mmap::map(&file) }.map_err(|e| ModelError::io(path, e))?;
            let (header_len, metadata) =
                SafeTensors::read_metadata(&mmap).map_err(|e| ModelError::BadSafetensors {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            let index = files.len();
            for name in metadata.tensors().keys() {
                if file_of.insert(name.clone(), index).is_some() {
                    return Err(ModelError::BadSafetensors {
                        path: path.clone(),
                        reason: format!("tensor `{name}` appears in more than one file"),
                    });
                }
            }
            files.push(MappedFile {
                path: path.clone(),
                mmap,
                data_start: 8 + header_len,
                metadata,
            });
        }
        Ok(Self {
            files,
            file_of,
            used: Mutex::new(HashSet::new()),
            shapes_only: false,
        })
    }

    /// Makes [`load`](Self::load) check names, shapes and dtypes without reading any weight:
    /// it returns zero-filled CPU tensors, which the allocator hands out as untouched pages, so a
    /// 10B checkpoint validates in seconds and without its memory.
    pub fn shapes_only(mut self) -> Self {
        self.shapes_only = true;
        self
    }

    pub fn contains(&self, name: &str) -> bool {
        self.file_of.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.file_of.keys().map(String::as_str)
    }

    /// Shape of a stored tensor, if present.
    pub fn shape_of(&self, name: &str) -> Option<Vec<usize>> {
        let file = &self.files[*self.file_of.get(name)?];
        file.metadata.info(name).map(|info| info.shape.clone())
    }

    /// Loads `name`, checks its shape and converts it to `dtype` on `device` in one pass.
    pub fn load(
        &self,
        name: &str,
        shape: &[usize],
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let missing = || ModelError::MissingTensor {
            name: name.to_string(),
            tried: name.to_string(),
        };
        let file = &self.files[*self.file_of.get(name).ok_or_else(missing)?];
        let info = file.metadata.info(name).ok_or_else(missing)?;
        if info.shape != shape {
            return Err(ModelError::WrongShape {
                name: name.to_string(),
                expected: shape.to_vec(),
                actual: info.shape.clone(),
            });
        }
        if self.shapes_only {
            if !matches!(info.dtype, StDtype::F32 | StDtype::BF16 | StDtype::F16) {
                return Err(ModelError::BadSafetensors {
                    path: file.path.clone(),
                    reason: format!(
                        "tensor `{name}`: stored as {:?}, which cannot be converted to {dtype:?}",
                        info.dtype
                    ),
                });
            }
            self.mark_used(name);
            return Ok(Tensor::zeros(shape, dtype, &Device::Cpu)?);
        }
        let (start, end) = info.data_offsets;
        let bytes = &file.mmap[file.data_start + start..file.data_start + end];
        let tensor = convert(bytes, info.dtype, shape, dtype).map_err(|reason| {
            ModelError::BadSafetensors {
                path: file.path.clone(),
                reason: format!("tensor `{name}`: {reason}"),
            }
        })?;
        release_pages(&file.mmap, file.data_start + start, file.data_start + end);
        self.mark_used(name);
        Ok(tensor.to_device(device)?)
    }

    fn mark_used(&self, name: &str) {
        self.used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(name.to_string());
    }

    /// Names present in the files but never loaded, minus those matching `ignored`.
    pub fn unused(&self, ignored: impl Fn(&str) -> bool) -> Vec<String> {
        let used = self
            .used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut unused: Vec<String> = self
            .names()
            .filter(|n| !used.contains(*n) && !ignored(n))
            .map(str::to_string)
            .collect();
        unused.sort();
        unused
    }
}

/// Drops the resident pages of an already converted byte range, so peak memory stays near the
/// size of the loaded model instead of model + file. The mapping is read-only and file-backed:
/// the pages are simply re-read should anything touch them again.
fn release_pages(mmap: &Mmap, start: usize, end: usize) {
    #[cfg(unix)]
    {
        const PAGE: usize = 4096;
        let first = start.next_multiple_of(PAGE);
        let last = end / PAGE * PAGE;
        if last > first {
            // SAFETY: no slice of this range is alive any more (the tensor owns a converted copy),
            // and MADV_DONTNEED on a read-only shared file mapping cannot change its contents.
            let _ = unsafe {
                mmap.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, first, last - first)
            };
        }
    }
    #[cfg(not(unix))]
    let _ = (mmap, start, end);
}

struct Shards {
    files: Vec<PathBuf>,
    weight_map: BTreeMap<String, String>,
}

fn shards_from_index(index: &Path) -> Result<Shards> {
    #[derive(serde::Deserialize)]
    struct Index {
        weight_map: BTreeMap<String, String>,
    }
    let text = std::fs::read_to_string(index).map_err(|e| ModelError::io(index, e))?;
    let parsed: Index = serde_json::from_str(&text).map_err(|source| ModelError::Json {
        path: index.to_path_buf(),
        source,
    })?;
    let dir = index.parent().unwrap_or(Path::new("."));
    let mut files: Vec<PathBuf> = Vec::new();
    for shard in parsed.weight_map.values() {
        if shard.contains('/') || shard.contains('\\') || shard.starts_with('.') {
            return Err(ModelError::BadSafetensors {
                path: index.to_path_buf(),
                reason: format!("shard name `{shard}` must be a plain file name"),
            });
        }
        let path = dir.join(shard);
        if !files.contains(&path) {
            if !path.is_file() {
                return Err(ModelError::BadSafetensors {
                    path: index.to_path_buf(),
                    reason: format!("shard {shard} is missing"),
                });
            }
            files.push(path);
        }
    }
    Ok(Shards {
        files,
        weight_map: parsed.weight_map,
    })
}

fn convert(
    bytes: &[u8],
    src: StDtype,
    shape: &[usize],
    dst: DType,
) -> std::result::Result<Tensor, String> {
    use half::{bf16, f16};
    let cpu = Device::Cpu;
    let same = match (src, dst) {
        (StDtype::F32, DType::F32) | (StDtype::BF16, DType::BF16) | (StDtype::F16, DType::F16) => {
            true
        }
        (StDtype::F32 | StDtype::BF16 | StDtype::F16, DType::F32 | DType::BF16 | DType::F16) => {
            false
        }
        _ => {
            return Err(format!(
                "stored as {src:?}, which cannot be converted to {dst:?}"
            ))
        }
    };
    if same {
        return Tensor::from_raw_buffer(bytes, dst, shape, &cpu).map_err(|e| e.to_string());
    }
    let len: usize = shape.iter().product();
    let width = match src {
        StDtype::F32 => 4,
        _ => 2,
    };
    if bytes.len() != len * width {
        return Err(format!("{} bytes for {len} values of {src:?}", bytes.len()));
    }
    let read = |i: usize| -> f32 {
        let b = &bytes[i * width..(i + 1) * width];
        match src {
            StDtype::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            StDtype::BF16 => bf16::from_le_bytes([b[0], b[1]]).to_f32(),
            _ => f16::from_le_bytes([b[0], b[1]]).to_f32(),
        }
    };
    let tensor = match dst {
        DType::F32 => Tensor::from_vec(weight_vec(len, read), shape, &cpu),
        DType::BF16 => Tensor::from_vec(weight_vec(len, |i| bf16::from_f32(read(i))), shape, &cpu),
        _ => Tensor::from_vec(weight_vec(len, |i| f16::from_f32(read(i))), shape, &cpu),
    };
    tensor.map_err(|e| e.to_string())
}

/// Collects a converted weight into memory backed by transparent huge pages where the kernel
/// offers them (`madvise` mode, Debian's default). A decoding step streams every weight once,
/// and with 2 MiB pages the hardware prefetchers and TLB keep up: measured 108 instead of
/// 114 ms/token on the 3B-448 benchmark model. The first touch of a huge page zeroes 2 MiB at once; in some
/// virtual machines that makes loading slower (seen: 1.4 s → 3–4 s for the 3B-448 test model), so
/// `RADDRAFT_NO_HUGE_PAGES=1` turns it off.
fn weight_vec<T: Send>(len: usize, value_at: impl Fn(usize) -> T + Sync) -> Vec<T> {
    const CHUNK: usize = 1 << 16;
    let mut out = Vec::with_capacity(len);
    #[cfg(target_os = "linux")]
    if std::env::var_os("RADDRAFT_NO_HUGE_PAGES").is_none() {
        const HUGE_PAGE: usize = 2 << 20;
        let bytes = len * std::mem::size_of::<T>();
        if bytes >= 2 * HUGE_PAGE {
            let start = out.as_ptr() as usize;
            let aligned = start.next_multiple_of(HUGE_PAGE);
            let usable = (start + bytes).saturating_sub(aligned) / HUGE_PAGE * HUGE_PAGE;
            // SAFETY: the range lies inside `out`'s own allocation, which nothing has touched
            // yet; MADV_HUGEPAGE only changes how its pages are backed, never their contents.
            // A refusal (THP disabled) leaves ordinary pages, so the result is ignored.
            unsafe {
                libc::madvise(aligned as *mut libc::c_void, usable, libc::MADV_HUGEPAGE);
            }
        }
    }
    // Converted in parallel: the page faults and the widening share the cores.
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            for (i, slot) in chunk.iter_mut().enumerate() {
                slot.write(value_at(c * CHUNK + i));
            }
        });
    // SAFETY: the loop above initialised all `len` elements.
    unsafe { out.set_len(len) };
    out
}

/// A view on the checkpoint at a name prefix, like candle's `VarBuilder`, that accepts several
/// spellings of the same prefix (the hub layout and the transformers 5 layout).
#[derive(Clone)]
pub struct Loader<'a> {
    files: &'a SafetensorsFiles,
    prefixes: Vec<String>,
    dtype: DType,
    /// The dtype of weight matrices (linear layers, embedding tables); `dtype` otherwise.
    matrix_dtype: DType,
    device: Device,
    quantization: crate::device::Quantization,
}

impl<'a> Loader<'a> {
    /// `prefixes` are alternatives for the same root, tried in order.
    pub fn new(
        files: &'a SafetensorsFiles,
        prefixes: &[&str],
        dtype: DType,
        device: &Device,
    ) -> Self {
        Self {
            files,
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            dtype,
            matrix_dtype: dtype,
            device: device.clone(),
            quantization: crate::device::Quantization::None,
        }
    }

    /// The same view, whose weight matrices ([`linear`](Self::linear),
    /// [`matrix`](Self::matrix)) load as `dtype` while everything else keeps the view's dtype.
    pub fn with_matrix_dtype(self, matrix_dtype: DType) -> Self {
        Self {
            matrix_dtype,
            ..self
        }
    }

    /// The dtype weight matrices load as.
    pub fn matrix_dtype(&self) -> DType {
        self.matrix_dtype
    }

    /// Loads the weight matrix `name` in the matrix dtype.
    pub fn matrix(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.get_as(name, shape, self.matrix_dtype)
    }

    /// The same view, whose [`linear`](Self::linear) layers are stored as `quantization` says.
    pub fn with_quantization(self, quantization: crate::device::Quantization) -> Self {
        Self {
            quantization,
            ..self
        }
    }

    pub fn quantization(&self) -> crate::device::Quantization {
        self.quantization
    }

    pub fn pp(&self, part: impl std::fmt::Display) -> Self {
        let prefixes = self
            .prefixes
            .iter()
            .map(|p| {
                if p.is_empty() {
                    part.to_string()
                } else {
                    format!("{p}.{part}")
                }
            })
            .collect();
        Self {
            prefixes,
            ..self.clone()
        }
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn resolve(&self, name: &str) -> Result<String> {
        let candidates: Vec<String> = self
            .prefixes
            .iter()
            .map(|p| {
                if p.is_empty() {
                    name.to_string()
                } else {
                    format!("{p}.{name}")
                }
            })
            .collect();
        candidates
            .iter()
            .find(|c| self.files.contains(c))
            .cloned()
            .ok_or_else(|| ModelError::MissingTensor {
                name: candidates[0].clone(),
                tried: candidates.join(", "),
            })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.resolve(name).is_ok()
    }

    /// Loads `name` with the loader's dtype.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.get_as(name, shape, self.dtype)
    }

    pub fn get_as(&self, name: &str, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let full = self.resolve(name)?;
        self.files.load(&full, shape, dtype, &self.device)
    }

    /// A linear layer `[out, in]` with an optional bias.
    pub fn linear(
        &self,
        name: &str,
        in_dim: usize,
        out_dim: usize,
        bias: bool,
    ) -> Result<crate::linear::Linear> {
        let vb = self.pp(name);
        let weight = vb.matrix("weight", &[out_dim, in_dim])?;
        let bias = if bias {
            Some(vb.get("bias", &[out_dim])?)
        } else {
            None
        };
        self.stored(crate::linear::Linear::new(weight, bias)?)
    }

    /// `layer` stored as the view's quantisation says.
    pub fn stored(&self, layer: crate::linear::Linear) -> Result<crate::linear::Linear> {
        Ok(match self.quantization {
            crate::device::Quantization::None => layer,
            crate::device::Quantization::Int8 => layer.quantized()?,
        })
    }

    pub fn layer_norm(&self, name: &str, dim: usize, eps: f64) -> Result<candle_nn::LayerNorm> {
        let vb = self.pp(name);
        Ok(candle_nn::LayerNorm::new(
            vb.get("weight", &[dim])?,
            vb.get("bias", &[dim])?,
            eps,
        ))
    }
}
