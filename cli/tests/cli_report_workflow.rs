//! The report workflow through the `raddraft` command line on a SQLite store: registry, import,
//! draft, edit, accept, sign, addendum, export, audit; signed reports refuse every change;
//! concurrent imports; corrupt or foreign databases are refused and left untouched.

mod cli_support;

use std::path::Path;

use cli_support::{fails, ok, raddraft, register_demo_model, repo, write_dx};

fn status_of(db: &Path, study: &str) -> String {
    let studies: serde_json::Value =
        serde_json::from_str(&ok(db, &["studies", "--json"])).expect("studies --json is JSON");
    studies
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|s| s["study"]["study_uid"] == study)
                .map(|s| s["status"].as_str().unwrap_or_default().to_string())
        })
        .unwrap_or_else(|| panic!("study {study} is not listed"))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn draft_edit_sign_addendum_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    register_demo_model(&db);
    let image = dir.path().join("dx.dcm");
    let study = write_dx(&image, 1);
    ok(&db, &["import", image.to_str().unwrap()]);
    assert_eq!(status_of(&db, &study), "new");

    let drafted = ok(&db, &["draft", &study, "--max-new-tokens", "8"]);
    assert!(drafted.contains("AI-GENERATED DRAFT"), "{drafted}");
    assert_eq!(status_of(&db, &study), "draft_ready");

    // Signing refuses while model text is unreviewed.
    let out = fails(&db, &["sign", &study, "--by", "Smith^Anna"]);
    assert!(stderr(&out).contains("not reviewed"), "{}", stderr(&out));

    let edit = dir.path().join("edit.txt");
    std::fs::write(&edit, "FINDINGS: Lungs clear.\nIMPRESSION: Normal chest.\n").unwrap();
    let edited = ok(
        &db,
        &[
            "edit",
            &study,
            "--file",
            edit.to_str().unwrap(),
            "--by",
            "Dr Edit",
        ],
    );
    assert!(edited.contains("0 unreviewed AI sentence"), "{edited}");
    let txt = dir.path().join("draft.txt");
    ok(
        &db,
        &[
            "export",
            &study,
            "--format",
            "txt",
            "--out",
            txt.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&txt).unwrap();
    assert!(text.contains("PRELIMINARY"), "{text}");
    assert!(text.contains("Lungs clear."));

    let signed = ok(&db, &["sign", &study, "--by", "Smith^Anna"]);
    assert!(signed.contains("signed by Smith^Anna"), "{signed}");
    assert_eq!(status_of(&db, &study), "signed");
    let addendum = dir.path().join("addendum.txt");
    std::fs::write(&addendum, "Comparison with prior film: unchanged.").unwrap();
    ok(
        &db,
        &[
            "addendum",
            &study,
            "--file",
            addendum.to_str().unwrap(),
            "--by",
            "Smith^Anna",
        ],
    );

    for format in ["txt", "md", "fhir", "sr", "pdf"] {
        let out = dir.path().join(format!("report.{format}"));
        ok(
            &db,
            &[
                "export",
                &study,
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(std::fs::metadata(&out).unwrap().len() > 0);
    }
    let final_text = std::fs::read_to_string(dir.path().join("report.txt")).unwrap();
    assert!(!final_text.contains("PRELIMINARY"), "{final_text}");
    assert!(final_text.contains("Comparison with prior film: unchanged."));
    let fhir: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.fhir")).unwrap()).unwrap();
    assert_eq!(fhir["resourceType"], "DiagnosticReport");
    assert_eq!(fhir["status"], "appended");
    assert_eq!(fhir["conclusion"], "Normal chest.");
    for dicom in ["report.sr", "report.pdf"] {
        let out = std::process::Command::new("dciodvfy")
            .arg(dir.path().join(dicom))
            .output()
            .expect("dciodvfy (dicom3tools) is installed: run scripts/bootstrap.sh");
        let report = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(!report.contains("Error"), "{dicom}: {report}");
    }
    let audit = ok(&db, &["audit", "verify"]);
    assert!(audit.contains("audit chain intact"), "{audit}");
}

#[test]
fn a_signed_report_refuses_every_change_but_an_addendum() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    register_demo_model(&db);
    let image = dir.path().join("dx.dcm");
    let study = write_dx(&image, 2);
    ok(
        &db,
        &["draft", image.to_str().unwrap(), "--max-new-tokens", "6"],
    );
    ok(&db, &["sign", &study, "--by", "Smith^Anna", "--accept"]);
    let txt = dir.path().join("signed.txt");
    ok(
        &db,
        &[
            "export",
            &study,
            "--format",
            "txt",
            "--out",
            txt.to_str().unwrap(),
        ],
    );
    let before = std::fs::read_to_string(&txt).unwrap();
    let versions_before = ok(&db, &["audit", "log", "--study", &study, "--json"]);

    let edit = dir.path().join("edit.txt");
    std::fs::write(&edit, "FINDINGS: Changed. IMPRESSION: Changed.").unwrap();
    let attempts: Vec<Vec<&str>> = vec![
        vec![
            "edit",
            &study,
            "--file",
            edit.to_str().unwrap(),
            "--by",
            "Dr X",
        ],
        vec!["accept", &study, "--by", "Dr X"],
        vec!["sign", &study, "--by", "Dr X"],
        vec!["sign", &study, "--by", "Dr X", "--accept"],
        vec!["draft", &study, "--max-new-tokens", "4"],
        vec!["draft", image.to_str().unwrap(), "--max-new-tokens", "4"],
    ];
    for args in &attempts {
        let out = fails(&db, args);
        assert!(
            stderr(&out).contains("signed"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    ok(
        &db,
        &[
            "export",
            &study,
            "--format",
            "txt",
            "--out",
            txt.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&txt).unwrap(), before);
    assert_eq!(
        ok(&db, &["audit", "log", "--study", &study, "--json"]),
        versions_before,
        "refused commands left no trace in the audit log"
    );

    let addendum = dir.path().join("addendum.txt");
    std::fs::write(&addendum, "Late finding: rib fracture.").unwrap();
    ok(
        &db,
        &[
            "addendum",
            &study,
            "--file",
            addendum.to_str().unwrap(),
            "--by",
            "Smith^Anna",
        ],
    );
    ok(
        &db,
        &[
            "export",
            &study,
            "--format",
            "txt",
            "--out",
            txt.to_str().unwrap(),
        ],
    );
    let after = std::fs::read_to_string(&txt).unwrap();
    assert!(after.contains("Late finding: rib fracture."));
    // An addendum to an unsigned study is refused.
    let other = dir.path().join("other.dcm");
    let unsigned = write_dx(&other, 3);
    ok(&db, &["import", other.to_str().unwrap()]);
    fails(
        &db,
        &[
            "addendum",
            &unsigned,
            "--file",
            addendum.to_str().unwrap(),
            "--by",
            "X",
        ],
    );
}

#[test]
fn concurrent_imports_of_one_folder_keep_one_copy_of_each_image() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let folder = dir.path().join("cd");
    std::fs::create_dir(&folder).unwrap();
    for n in 0..12 {
        write_dx(&folder.join(format!("IM{n:04}")), 100 + n);
    }
    // Create the database first, then race two importers.
    ok(&db, &["studies"]);
    let spawn = || {
        raddraft(&db, &["import", folder.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    ok(&db, &["import", folder.to_str().unwrap()]);
    let studies: serde_json::Value =
        serde_json::from_str(&ok(&db, &["studies", "--json"])).unwrap();
    let list = studies.as_array().unwrap();
    assert_eq!(list.len(), 12);
    assert!(list.iter().all(|s| s["image_count"] == 1), "{studies}");
}

#[test]
fn corrupt_or_foreign_databases_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5Au8; 8192]).unwrap();
    let out = fails(&garbage, &["studies"]);
    assert!(stderr(&out).contains("garbage.db"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&garbage).unwrap(), vec![0x5Au8; 8192]);

    // A valid SQLite database of another application.
    let foreign = dir.path().join("foreign.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}?mode=rwc", foreign.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let bytes = std::fs::read(&foreign).unwrap();
    let out = fails(
        &foreign,
        &[
            "import",
            repo().join("demo/sample-cxr.dcm").to_str().unwrap(),
        ],
    );
    assert!(stderr(&out).contains("foreign.db"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&foreign).unwrap(), bytes);
}

#[test]
fn the_registry_validates_checkpoints_and_detects_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    for entry in std::fs::read_dir(repo().join("demo/checkpoint")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), model.join(entry.file_name())).unwrap();
    }
    ok(
        &db,
        &["model", "add", model.to_str().unwrap(), "--name", "m1"],
    );
    assert!(ok(&db, &["model", "list"]).contains("m1"));
    assert!(ok(&db, &["model", "verify", "m1"]).contains("unchanged"));
    let config = model.join("config.json");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push(' ');
    std::fs::write(&config, text).unwrap();
    let out = fails(&db, &["model", "verify", "m1"]);
    assert!(stderr(&out).contains("config.json"), "{}", stderr(&out));

    // A directory that is not a checkpoint is refused before anything is recorded.
    std::fs::remove_file(model.join("tokenizer.json")).unwrap();
    let out = fails(
        &db,
        &["model", "add", model.to_str().unwrap(), "--name", "m2"],
    );
    assert!(stderr(&out).contains("tokenizer"), "{}", stderr(&out));
    assert!(!ok(&db, &["model", "list"]).contains("m2"));
}

#[test]
fn pulling_a_model_offline_fails_clearly_and_registers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let out = raddraft(&db, &["model", "pull", "google/paligemma2-3b-pt-448"])
        // A closed local port stands in for a machine without network.
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env("HF_HOME", dir.path().join("hf"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(
        message.contains("cannot reach the Hugging Face Hub"),
        "{message}"
    );
    assert!(message.contains("raddraft model add"), "{message}");
    assert_eq!(ok(&db, &["model", "list"]).trim(), "");
}

#[test]
fn batch_takes_a_registered_model_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    register_demo_model(&db);
    let image = dir.path().join("dx.dcm");
    write_dx(&image, 7);
    let manifest = dir.path().join("m.jsonl");
    let rows: Vec<String> = ["a", "b"]
        .iter()
        .map(|id| {
            serde_json::json!({"id": id, "images": [image.to_str().unwrap()], "indication": "Cough."})
                .to_string()
        })
        .collect();
    std::fs::write(&manifest, rows.join("\n") + "\n").unwrap();
    let out = dir.path().join("drafts.jsonl");
    let args = |model: &str| {
        vec![
            "batch".to_string(),
            "--manifest".into(),
            manifest.to_str().unwrap().into(),
            "--model".into(),
            model.into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--max-new-tokens".into(),
            "4".into(),
        ]
    };
    let by_name = args("demo");
    ok(&db, &by_name.iter().map(String::as_str).collect::<Vec<_>>());
    let drafted = std::fs::read_to_string(&out).unwrap();
    assert_eq!(drafted.lines().count(), 2, "{drafted}");
    assert!(
        drafted.lines().all(|l| l.contains("\"hypothesis\"")),
        "{drafted}"
    );

    std::fs::remove_file(&out).unwrap();
    let unknown = args("no-such-model");
    let failed = fails(&db, &unknown.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stderr(&failed).contains("neither a checkpoint directory nor a registered model"),
        "{}",
        stderr(&failed)
    );
}
