//! Every front end drafts through the one drafting pipeline: the same study through
//! `raddraft generate`, `raddraft batch`, `raddraft draft` and the desktop's drafting service,
//! with the demo checkpoint, gives the same prompt, token ids and text. Run for a DICOM whose
//! header carries the indication and for a PNG without one (the bare template).

mod cli_support;

use std::path::Path;

use cli_support::{ok, raddraft, register_demo_model, repo};
use raddraft_core::drafting::{DraftParams, DraftRequest, DraftService};
use raddraft_core::store::{DbLocation, Store, StudyKey};
use raddraft_models::{Checkpoint, LoadOptions};
use serde_json::Value;

const MAX_NEW_TOKENS: usize = 10;

/// What every front end must agree on.
#[derive(Debug, PartialEq)]
struct Drafted {
    prompt: String,
    token_ids: Vec<u64>,
    text: String,
}

fn ids(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .expect("token ids are an array")
        .iter()
        .map(|id| id.as_u64().expect("a token id"))
        .collect()
}

fn via_generate(db: &Path, image: &Path) -> Drafted {
    let demo = repo().join("demo/checkpoint");
    let stdout = ok(
        db,
        &[
            "generate",
            "--json",
            "--max-new-tokens",
            &MAX_NEW_TOKENS.to_string(),
            "--model",
            demo.to_str().unwrap(),
            "--image",
            image.to_str().unwrap(),
        ],
    );
    let json: Value = serde_json::from_str(&stdout).expect("generate --json prints JSON");
    Drafted {
        prompt: json["prompt"].as_str().unwrap().to_owned(),
        token_ids: ids(&json["token_ids"]),
        text: json["text"].as_str().unwrap().to_owned(),
    }
}

fn via_batch(db: &Path, image: &Path, work: &Path) -> Drafted {
    let manifest = work.join("manifest.jsonl");
    let item = serde_json::json!({ "id": "s1", "images": [image] });
    std::fs::write(&manifest, format!("{item}\n")).unwrap();
    let out = work.join("drafts.jsonl");
    let _ = std::fs::remove_file(&out);
    ok(
        db,
        &[
            "batch",
            "--manifest",
            manifest.to_str().unwrap(),
            "--model",
            "demo",
            "--out",
            out.to_str().unwrap(),
            "--max-new-tokens",
            &MAX_NEW_TOKENS.to_string(),
        ],
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let row: Value = serde_json::from_str(text.lines().next().expect("one row")).unwrap();
    assert!(row.get("error").is_none(), "{row}");
    Drafted {
        prompt: row["prompt"].as_str().unwrap().to_owned(),
        token_ids: ids(&row["token_ids"]),
        text: row["generated_text"].as_str().unwrap().to_owned(),
    }
}

fn via_draft(db: &Path, image: &Path) -> Drafted {
    let stdout = ok(
        db,
        &[
            "draft",
            image.to_str().unwrap(),
            "--max-new-tokens",
            &MAX_NEW_TOKENS.to_string(),
        ],
    );
    assert!(stdout.contains("AI-GENERATED DRAFT"), "{stdout}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::open(&DbLocation::parse(db.to_str().unwrap()).unwrap())
            .await
            .unwrap();
        let studies = store.studies().await.unwrap();
        let study = studies.last().expect("the image was imported");
        let drafts = store
            .drafts(StudyKey::parse(&study.study.study_uid))
            .await
            .unwrap();
        let draft = drafts.last().expect("the draft was stored");
        let drafted = Drafted {
            prompt: draft.prompt.clone(),
            token_ids: draft.output.token_ids.iter().map(|&id| id as u64).collect(),
            text: draft.output.text.clone(),
        };
        store.close().await;
        drafted
    })
}

fn via_service(image: &Path) -> Drafted {
    let checkpoint = Checkpoint::load(&repo().join("demo/checkpoint"), &LoadOptions::default())
        .expect("the demo checkpoint loads");
    let service = DraftService::start(checkpoint);
    let params = DraftParams {
        max_new_tokens: MAX_NEW_TOKENS,
        ..DraftParams::default()
    };
    let outcome = service
        .draft_blocking(DraftRequest::new(image, None, params), |_| {})
        .expect("the service drafts");
    Drafted {
        prompt: outcome.prompt,
        token_ids: outcome.token_ids.iter().map(|&id| id as u64).collect(),
        text: outcome.draft.text,
    }
}

fn all_front_ends_agree(image: &Path, expected_prompt: &str) {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("store.db");
    register_demo_model(&db);

    let generate = via_generate(&db, image);
    assert_eq!(generate.prompt, expected_prompt);
    assert_eq!(generate.token_ids.len(), MAX_NEW_TOKENS);
    assert!(!generate.text.is_empty());
    assert_eq!(via_batch(&db, image, work.path()), generate, "batch");
    assert_eq!(via_service(image), generate, "drafting service");
    assert_eq!(via_draft(&db, image), generate, "draft");
}

#[test]
fn a_dicom_study_drafts_alike_through_every_front_end() {
    all_front_ends_agree(
        &repo().join("demo/sample-cxr.dcm"),
        "INDICATION: Cough and fever. Evaluate for pneumonia.",
    );
}

#[test]
fn an_image_without_indication_drafts_alike_through_every_front_end() {
    // `raddraft draft` imports DICOM only, so the PNG goes through the other three.
    let image = repo().join("demo/sample-cxr.png");
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("store.db");
    register_demo_model(&db);
    let generate = via_generate(&db, &image);
    assert_eq!(generate.prompt, "INDICATION:");
    assert_eq!(via_batch(&db, &image, work.path()), generate, "batch");
    assert_eq!(via_service(&image), generate, "drafting service");
    let stderr = raddraft(&db, &["generate", "--model", "demo", "--image"])
        .arg(&image)
        .output()
        .unwrap()
        .stderr;
    assert!(String::from_utf8_lossy(&stderr).contains("carries no indication"));
}
