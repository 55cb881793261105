//! Bad checkpoints and inputs give errors that name the problem, never a panic.
//!
//! Each case copies the `tiny-v4-hub` (or sharded `tiny-v5-sharded`) fixture into a temporary
//! directory and breaks one thing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use raddraft_models::error::ModelError;
use raddraft_models::{preprocess, Checkpoint, LoadOptions};
use safetensors::tensor::{Dtype, TensorView};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/paligemma2")
        .join(name)
}

fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

fn load(dir: &Path) -> Result<Checkpoint, ModelError> {
    Checkpoint::load(dir, &LoadOptions::default())
}

/// The error of loading `dir`; `Checkpoint::validate`, which reads no weights, must refuse the
/// directory with the same error.
fn load_err(dir: &Path) -> ModelError {
    let err = match load(dir) {
        Ok(_) => panic!("{} loaded although it is broken", dir.display()),
        Err(e) => e,
    };
    match Checkpoint::validate(dir) {
        Ok(_) => panic!(
            "validate accepted {} although loading fails: {err}",
            dir.display()
        ),
        Err(v) => assert_eq!(v.to_string(), err.to_string()),
    }
    err
}

#[test]
fn validation_without_weights_accepts_the_fixtures() {
    for name in ["tiny-v4-hub", "tiny-v5-sharded"] {
        let config = Checkpoint::validate(&fixture(name)).unwrap();
        let loaded = load(&fixture(name)).unwrap();
        assert_eq!(
            config.text_config.hidden_size,
            loaded.config.text_config.hidden_size
        );
    }
}

/// Rewrites `model.safetensors` after `edit` changes the (name → (dtype, shape, bytes)) map.
fn rewrite_weights(
    dir: &Path,
    edit: impl FnOnce(&mut HashMap<String, (Dtype, Vec<usize>, Vec<u8>)>),
) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: HashMap<String, (Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (
                name,
                (view.dtype(), view.shape().to_vec(), view.data().to_vec()),
            )
        })
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(name, (dtype, shape, data))| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &path).unwrap();
}

const SOME_TENSOR: &str = "language_model.model.layers.1.mlp.up_proj.weight";

#[test]
fn missing_tensor_is_named() {
    let dir = copy_fixture("tiny-v4-hub");
    rewrite_weights(dir.path(), |t| {
        t.remove(SOME_TENSOR);
    });
    let err = load_err(dir.path());
    assert!(matches!(err, ModelError::MissingTensor { .. }), "{err:?}");
    assert!(
        err.to_string().contains("layers.1.mlp.up_proj.weight"),
        "{err}"
    );
}

#[test]
fn extra_tensor_is_reported() {
    let dir = copy_fixture("tiny-v4-hub");
    rewrite_weights(dir.path(), |t| {
        t.insert(
            "language_model.model.layers.9.extra.weight".into(),
            (Dtype::F32, vec![2], vec![0; 8]),
        );
    });
    let err = load_err(dir.path());
    assert!(
        matches!(err, ModelError::UnexpectedTensors { count: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("layers.9.extra.weight"), "{err}");
}

#[test]
fn wrong_shape_names_tensor_and_shapes() {
    let dir = copy_fixture("tiny-v4-hub");
    rewrite_weights(dir.path(), |t| {
        let entry = t.get_mut(SOME_TENSOR).unwrap();
        let n: usize = entry.1.iter().product();
        entry.1 = vec![n];
    });
    let err = load_err(dir.path());
    match &err {
        ModelError::WrongShape { name, expected, .. } => {
            assert!(name.ends_with("layers.1.mlp.up_proj.weight"));
            assert_eq!(expected, &vec![128, 64]);
        }
        other => panic!("expected WrongShape, got {other:?}"),
    }
}

#[test]
fn truncated_safetensors_is_reported_with_its_path() {
    let dir = copy_fixture("tiny-v4-hub");
    let path = dir.path().join("model.safetensors");
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len / 2).unwrap();
    let err = load_err(dir.path());
    assert!(matches!(err, ModelError::BadSafetensors { .. }), "{err:?}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}

#[test]
fn truncated_header_is_reported() {
    let dir = copy_fixture("tiny-v4-hub");
    std::fs::write(dir.path().join("model.safetensors"), b"\x10\x00").unwrap();
    assert!(matches!(
        load_err(dir.path()),
        ModelError::BadSafetensors { .. }
    ));
}

#[test]
fn missing_shard_is_reported() {
    let dir = copy_fixture("tiny-v5-sharded");
    std::fs::remove_file(dir.path().join("model-00002-of-00002.safetensors")).unwrap();
    let err = load_err(dir.path());
    assert!(
        err.to_string().contains("model-00002-of-00002.safetensors"),
        "{err}"
    );
}

#[test]
fn no_weights_at_all() {
    let dir = copy_fixture("tiny-v4-hub");
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    assert!(matches!(load_err(dir.path()), ModelError::NoWeights(_)));
}

fn edit_config(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("config.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(&path, serde_json::to_string(&value).unwrap()).unwrap();
}

#[test]
fn config_of_another_model_is_refused() {
    let dir = copy_fixture("tiny-v4-hub");
    edit_config(dir.path(), |v| v["model_type"] = "llama".into());
    let err = load_err(dir.path());
    assert!(matches!(err, ModelError::NotPaliGemma2 { .. }), "{err:?}");
    assert!(err.to_string().contains("llama"), "{err}");
}

#[test]
fn paligemma_1_config_is_refused() {
    let dir = copy_fixture("tiny-v4-hub");
    edit_config(dir.path(), |v| {
        v["text_config"]["model_type"] = "gemma".into();
        v["text_config"]["architectures"] = serde_json::json!(["GemmaForCausalLM"]);
    });
    let err = load_err(dir.path());
    assert!(matches!(err, ModelError::NotPaliGemma2 { .. }), "{err:?}");
}

#[test]
fn malformed_config_json_is_reported() {
    let dir = copy_fixture("tiny-v4-hub");
    std::fs::write(dir.path().join("config.json"), "{ not json").unwrap();
    assert!(matches!(load_err(dir.path()), ModelError::Json { .. }));
}

#[test]
fn missing_tokenizer_is_reported() {
    let dir = copy_fixture("tiny-v4-hub");
    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    let err = load_err(dir.path());
    assert!(matches!(err, ModelError::Tokenizer(_)), "{err:?}");
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
}

#[test]
fn corrupt_tokenizer_is_reported() {
    let dir = copy_fixture("tiny-v4-hub");
    std::fs::write(dir.path().join("tokenizer.json"), "{}").unwrap();
    assert!(matches!(load_err(dir.path()), ModelError::Tokenizer(_)));
}

#[test]
fn model_directory_that_does_not_exist() {
    let err = load_err(Path::new("/nonexistent/raddraft-model"));
    assert!(matches!(err, ModelError::NotADirectory(_)));
}

#[test]
fn unreadable_images_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let not_image = dir.path().join("report.png");
    std::fs::write(&not_image, b"this is not a picture").unwrap();
    assert!(matches!(
        preprocess::load_image(&not_image),
        Err(ModelError::Image { .. })
    ));
    let truncated = dir.path().join("truncated.png");
    let png = std::fs::read(fixture("tiny-v4-hub").join("input.png")).unwrap();
    std::fs::write(&truncated, &png[..png.len() / 2]).unwrap();
    assert!(matches!(
        preprocess::load_image(&truncated),
        Err(ModelError::Image { .. })
    ));
    assert!(matches!(
        preprocess::load_image(&dir.path().join("absent.png")),
        Err(ModelError::Image { .. }) | Err(ModelError::Io { .. })
    ));
}
