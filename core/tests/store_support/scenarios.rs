//! Behaviour every backend must show; `backend_scenarios!` runs each function as a test.

use sha2::{Digest, Sha256};

use raddraft_core::store::{
    audit_entry_hash, ChainProblem, DraftId, DraftOutput, DraftStatus, NewDraft, NewModel,
    NewReportVersion, Store, StoreError, StudyId, StudyKey, StudyStatus, VersionId,
};

use super::{image, raw_count, raw_execute, study_uid, Backend, TestDb};

fn draft(study: u32, status: DraftStatus) -> NewDraft {
    let output = if status == DraftStatus::Running {
        DraftOutput::default()
    } else {
        DraftOutput {
            text: "FINDINGS: Clear lungs. IMPRESSION: Normal.".into(),
            token_ids: vec![2, 1034, 77, 1],
            token_logprobs: vec![-0.25, -1.5, -0.125, -0.0625],
            timings: serde_json::json!({ "prefill_s": 1.5, "decode_s": 4.25 }),
            failure: None,
        }
    };
    NewDraft {
        study: StudyKey::Uid(study_uid(study)),
        model_name: "paligemma2-3b-448".into(),
        weights_sha256: "ab".repeat(32),
        prompt: "describe en".into(),
        indication: Some("Cough".into()),
        preprocessing: "display".into(),
        generation_params: serde_json::json!({ "max_new_tokens": 256, "temperature": 0.0 }),
        status,
        output,
    }
}

fn version(study: u32, findings: &str, author: &str) -> NewReportVersion {
    NewReportVersion {
        study: StudyKey::Uid(study_uid(study)),
        draft: None,
        findings: findings.into(),
        impression: "No acute disease.".into(),
        provenance: r#"{"findings":[],"impression":[]}"#.into(),
        author: author.into(),
    }
}

/// A study with one image, a report version and a sign-off by "Dr Signer"; returns the version.
async fn signed_study(store: &Store, study: u32) -> VersionId {
    store.import_image(&image(study, 1)).await.unwrap();
    let version = store
        .add_report_version(&version(study, "Clear lungs.", "Dr Author"))
        .await
        .unwrap();
    store
        .sign(study_uid(study), version, "Dr Signer")
        .await
        .unwrap();
    version
}

pub async fn import_is_idempotent(db: &TestDb) {
    let store = db.open().await;
    let first = store.import_image(&image(1, 1)).await.unwrap();
    assert!(first.image_was_new && first.study_was_new);
    let again = store.import_image(&image(1, 1)).await.unwrap();
    assert!(!again.image_was_new && !again.study_was_new);
    assert_eq!(
        (again.study_id, again.image_id),
        (first.study_id, first.image_id)
    );
    let second = store.import_image(&image(1, 2)).await.unwrap();
    assert!(second.image_was_new && !second.study_was_new);
    assert_eq!(second.study_id, first.study_id);
    assert_ne!(second.image_id, first.image_id);

    let studies = store.studies().await.unwrap();
    assert_eq!(studies.len(), 1);
    assert_eq!(studies[0].image_count, 2);
    assert_eq!(studies[0].draft_count, 0);
    assert_eq!(studies[0].status, StudyStatus::New);
    assert_eq!(raw_count(&store, "SELECT COUNT(*) FROM images").await, 2);
    let audit = store.audit_log(None).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["study.image_imported", "study.image_imported"]);
    assert!(audit.iter().all(|e| e.actor == "tester"));
    assert_eq!(audit[0].study_uid.as_deref(), Some(study_uid(1).as_str()));
}

pub async fn study_fields_and_lookup(db: &TestDb) {
    let store = db.open().await;
    let imported = image(7, 3);
    let outcome = store.import_image(&imported).await.unwrap();
    let by_uid = store.study(study_uid(7)).await.unwrap();
    let by_id = store.study(outcome.study_id).await.unwrap();
    assert_eq!(by_uid, by_id);
    let parsed = StudyKey::parse(&outcome.study_id.0.to_string());
    assert_eq!(parsed, StudyKey::Id(outcome.study_id));
    assert_eq!(store.study(parsed).await.unwrap(), by_id);

    let study = &by_uid.study;
    let expected = &imported.study;
    assert_eq!(study.study_uid, expected.study_uid);
    assert_eq!(study.patient_name, expected.patient_name);
    assert_eq!(study.patient_id, expected.patient_id);
    assert_eq!(study.birth_date, expected.birth_date);
    assert_eq!(study.sex, expected.sex);
    assert_eq!(study.study_date, expected.study_date);
    assert_eq!(study.accession, expected.accession);
    assert_eq!(study.description, expected.description);
    assert_eq!(study.view_position, expected.view_position);
    assert_eq!(study.indication, expected.indication);
    assert_eq!(by_uid.status, StudyStatus::New);
    assert_eq!(by_uid.signoff, None);
    assert_eq!(by_uid.images.len(), 1);
    let stored = &by_uid.images[0];
    assert_eq!(stored.id, outcome.image_id);
    assert_eq!(stored.sop_instance_uid, imported.sop_instance_uid);
    assert_eq!(stored.path, imported.path.to_string_lossy());
    assert_eq!(stored.sha256, imported.sha256);
    assert_eq!(stored.modality, imported.modality);
    assert_eq!((stored.rows, stored.columns), (2048, 2500));

    assert!(matches!(
        store.study("1.2.3.4.5").await,
        Err(StoreError::StudyNotFound { key }) if key == "1.2.3.4.5"
    ));
    assert!(matches!(
        store.study(StudyId(987_654)).await,
        Err(StoreError::StudyNotFound { .. })
    ));
    let mut bad_hash = image(7, 4);
    bad_hash.sha256 = "not-hex".into();
    assert!(matches!(
        store.import_image(&bad_hash).await,
        Err(StoreError::InvalidInput {
            field: "sha256",
            ..
        })
    ));
}

pub async fn concurrent_imports_leave_one_row_per_image(db: &TestDb) {
    let images: Vec<_> = (1..=3)
        .flat_map(|study| (1..=8).map(move |instance| image(study, instance)))
        .collect();
    let mut tasks = Vec::new();
    for reverse in [false, true] {
        // Separate pools, as two workstations or two windows would have.
        let store = db.open().await;
        let mut order = images.clone();
        if reverse {
            order.reverse();
        }
        tasks.push(tokio::spawn(async move {
            let mut new = 0;
            for image in &order {
                if store.import_image(image).await.unwrap().image_was_new {
                    new += 1;
                }
            }
            new
        }));
    }
    let mut new_total = 0;
    for task in tasks {
        new_total += task.await.unwrap();
    }
    assert_eq!(new_total, images.len());
    let store = db.open().await;
    assert_eq!(raw_count(&store, "SELECT COUNT(*) FROM images").await, 24);
    assert_eq!(
        raw_count(
            &store,
            "SELECT COUNT(DISTINCT sop_instance_uid) FROM images"
        )
        .await,
        24
    );
    assert_eq!(raw_count(&store, "SELECT COUNT(*) FROM studies").await, 3);
    assert_eq!(store.audit_log(None).await.unwrap().len(), 24);
    let chain = store.verify_audit_chain().await.unwrap();
    assert!(chain.is_intact(), "{:?}", chain.first_break);
    assert_eq!(chain.entries_checked, 24);
}

pub async fn worklist_status_follows_the_workflow(db: &TestDb) {
    let store = db.open().await;
    let outcome = store.import_image(&image(1, 1)).await.unwrap();
    let status = |store: Store| async move { store.study(study_uid(1)).await.unwrap().status };
    assert_eq!(status(store.clone()).await, StudyStatus::New);

    let running = store
        .add_draft(&draft(1, DraftStatus::Running))
        .await
        .unwrap();
    assert_eq!(status(store.clone()).await, StudyStatus::Drafting);
    assert_eq!(
        store.studies().await.unwrap()[0].status,
        StudyStatus::Drafting
    );
    assert!(matches!(
        store
            .finish_draft(running, DraftStatus::Running, &DraftOutput::default())
            .await,
        Err(StoreError::InvalidInput { .. })
    ));
    let output = draft(1, DraftStatus::Completed).output;
    store
        .finish_draft(running, DraftStatus::Completed, &output)
        .await
        .unwrap();
    assert!(matches!(
        store.finish_draft(running, DraftStatus::Failed, &output).await,
        Err(StoreError::DraftNotRunning { status, .. }) if status == "completed"
    ));
    let finished = store.draft(running).await.unwrap();
    assert_eq!(finished.status, DraftStatus::Completed);
    assert_eq!(finished.output, output);
    assert!(finished.finished_at.is_some());
    // A finished draft with no report version yet leaves the study new.
    assert_eq!(status(store.clone()).await, StudyStatus::New);

    let mut first = version(1, "Clear lungs.", "Dr Author");
    first.draft = Some(running);
    let version_id = store.add_report_version(&first).await.unwrap();
    assert_eq!(status(store.clone()).await, StudyStatus::DraftReady);
    store
        .sign(outcome.study_id, version_id, "Dr Signer")
        .await
        .unwrap();
    assert_eq!(status(store.clone()).await, StudyStatus::Signed);
    let summary = &store.studies().await.unwrap()[0];
    assert_eq!(summary.status, StudyStatus::Signed);
    assert_eq!(summary.draft_count, 1);
}

pub async fn drafts_are_kept_and_round_trip(db: &TestDb) {
    let store = db.open().await;
    store.import_image(&image(1, 1)).await.unwrap();
    let first = draft(1, DraftStatus::Completed);
    let mut second = draft(1, DraftStatus::Failed);
    second.output.failure = Some("out of memory".into());
    second.output.token_logprobs = vec![-0.5, f32::NEG_INFINITY];
    second.output.token_ids = vec![5, 6];
    let first_id = store.add_draft(&first).await.unwrap();
    let second_id = store.add_draft(&second).await.unwrap();

    let drafts = store.drafts(study_uid(1)).await.unwrap();
    assert_eq!(drafts.len(), 2);
    assert_eq!((drafts[0].id, drafts[1].id), (first_id, second_id));
    let stored = &drafts[0];
    assert_eq!(stored.model_name, first.model_name);
    assert_eq!(stored.weights_sha256, first.weights_sha256);
    assert_eq!(stored.prompt, first.prompt);
    assert_eq!(stored.indication, first.indication);
    assert_eq!(stored.preprocessing, first.preprocessing);
    assert_eq!(stored.generation_params, first.generation_params);
    assert_eq!(stored.status, DraftStatus::Completed);
    assert_eq!(stored.output, first.output);
    assert_eq!(stored.finished_at, Some(stored.created_at));
    assert_eq!(store.draft(first_id).await.unwrap(), *stored);

    let failed = &drafts[1];
    assert_eq!(failed.status, DraftStatus::Failed);
    assert_eq!(failed.output.failure.as_deref(), Some("out of memory"));
    assert_eq!(failed.output.token_ids, [5, 6]);
    assert_eq!(failed.output.token_logprobs[0], -0.5);
    assert!(failed.output.token_logprobs[1].is_nan());
    assert!(matches!(
        store.draft(DraftId(second_id.0 + 1000)).await,
        Err(StoreError::DraftNotFound { .. })
    ));
}

pub async fn report_versions_append(db: &TestDb) {
    let store = db.open().await;
    store.import_image(&image(1, 1)).await.unwrap();
    store.import_image(&image(2, 1)).await.unwrap();
    assert_eq!(store.latest_report(study_uid(1)).await.unwrap(), None);
    let v1 = store
        .add_report_version(&version(1, "Draft text.", "Dr A"))
        .await
        .unwrap();
    let v2 = store
        .add_report_version(&version(1, "Edited text.", "Dr B"))
        .await
        .unwrap();
    let versions = store.report_versions(study_uid(1)).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!((versions[0].id, versions[1].id), (v1, v2));
    assert_eq!((versions[0].number, versions[1].number), (1, 2));
    assert_eq!(versions[0].findings, "Draft text.");
    assert_eq!(versions[1].findings, "Edited text.");
    assert_eq!(versions[1].author, "Dr B");
    assert_eq!(versions[1].provenance, r#"{"findings":[],"impression":[]}"#);
    assert_eq!(
        store.latest_report(study_uid(1)).await.unwrap().as_ref(),
        Some(&versions[1])
    );
    let audit = store.audit_log(Some(study_uid(1).into())).await.unwrap();
    let last = audit.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("report.version_added", "Dr B")
    );

    let mut bad = version(1, "x", "Dr A");
    bad.provenance = "{not json".into();
    assert!(matches!(
        store.add_report_version(&bad).await,
        Err(StoreError::InvalidInput {
            field: "provenance",
            ..
        })
    ));
    let other_draft = store
        .add_draft(&draft(2, DraftStatus::Completed))
        .await
        .unwrap();
    let mut foreign = version(1, "x", "Dr A");
    foreign.draft = Some(other_draft);
    assert!(matches!(
        store.add_report_version(&foreign).await,
        Err(StoreError::DraftNotInStudy { .. })
    ));
    assert_eq!(store.report_versions(study_uid(1)).await.unwrap().len(), 2);
}

pub async fn sign_records_the_exact_version(db: &TestDb) {
    let store = db.open().await;
    store.import_image(&image(1, 1)).await.unwrap();
    store.import_image(&image(2, 1)).await.unwrap();
    assert!(matches!(
        store.sign(study_uid(2), VersionId(1), "Dr Signer").await,
        Err(StoreError::NothingToSign { .. })
    ));
    let v1 = store
        .add_report_version(&version(1, "Old text.", "Dr A"))
        .await
        .unwrap();
    let v2 = store
        .add_report_version(&version(1, "Reviewed text.", "Dr A"))
        .await
        .unwrap();
    assert!(matches!(
        store.sign(study_uid(1), v1, "Dr Signer").await,
        Err(StoreError::StaleVersion { requested, latest, .. }) if requested == v1.0 && latest == v2.0
    ));
    let signoff = store.sign(study_uid(1), v2, "Dr Signer").await.unwrap();
    assert_eq!(signoff.report_version_id, v2);
    assert_eq!(signoff.signer, "Dr Signer");
    // The documented content hash, computed here independently of the store.
    let content = serde_json::json!([
        "raddraft-signoff-v1",
        study_uid(1),
        2,
        "Reviewed text.",
        "No acute disease."
    ])
    .to_string();
    assert_eq!(
        signoff.content_sha256,
        format!("{:x}", Sha256::digest(content))
    );

    let detail = store.study(study_uid(1)).await.unwrap();
    assert_eq!(detail.signoff.as_ref(), Some(&signoff));
    assert_eq!(detail.status, StudyStatus::Signed);
    let last = store.audit_log(None).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("report.signed", "Dr Signer")
    );
}

pub async fn signed_study_refuses_changes(db: &TestDb) {
    let store = db.open().await;
    let signed_version = signed_study(&store, 1).await;
    fn is_signed_refusal<T>(result: &Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::Signed { study, signed_by, .. })
            if *study == study_uid(1) && signed_by == "Dr Signer")
    }
    let audit_before = store.audit_log(None).await.unwrap().len();

    let edit = store
        .add_report_version(&version(1, "Changed after signing.", "Dr Author"))
        .await;
    assert!(is_signed_refusal(&edit), "{edit:?}");
    let again = store.sign(study_uid(1), signed_version, "Dr Other").await;
    assert!(is_signed_refusal(&again), "{again:?}");
    let redraft = store.add_draft(&draft(1, DraftStatus::Completed)).await;
    assert!(is_signed_refusal(&redraft), "{redraft:?}");
    let new_image = store.import_image(&image(1, 2)).await;
    assert!(is_signed_refusal(&new_image), "{new_image:?}");
    // Re-importing an image already filed is still a harmless no-op.
    let reimport = store.import_image(&image(1, 1)).await.unwrap();
    assert!(!reimport.image_was_new);

    let message = edit.unwrap_err().to_string();
    assert!(
        message.contains("Dr Signer") && message.contains("addendum"),
        "{message}"
    );
    assert_eq!(store.report_versions(study_uid(1)).await.unwrap().len(), 1);
    assert_eq!(store.drafts(study_uid(1)).await.unwrap().len(), 0);
    assert_eq!(store.study(study_uid(1)).await.unwrap().images.len(), 1);
    assert_eq!(store.audit_log(None).await.unwrap().len(), audit_before);
}

pub async fn addenda_only_after_signoff(db: &TestDb) {
    let store = db.open().await;
    store.import_image(&image(2, 1)).await.unwrap();
    assert!(matches!(
        store.add_addendum(study_uid(2), "Too early.", "Dr A").await,
        Err(StoreError::NotSigned { study }) if study == study_uid(2)
    ));
    signed_study(&store, 1).await;
    let first = store
        .add_addendum(study_uid(1), "Comparison with prior: unchanged.", "Dr A")
        .await
        .unwrap();
    let second = store
        .add_addendum(study_uid(1), "Discussed with the referrer.", "Dr B")
        .await
        .unwrap();
    let addenda = store.addenda(study_uid(1)).await.unwrap();
    assert_eq!(addenda.len(), 2);
    assert_eq!((addenda[0].id, addenda[1].id), (first, second));
    assert_eq!(addenda[0].text, "Comparison with prior: unchanged.");
    assert_eq!(addenda[1].author, "Dr B");
    assert!(store.addenda(study_uid(2)).await.unwrap().is_empty());
    let last = store.audit_log(None).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("report.addendum_added", "Dr B")
    );
}

/// Database triggers hold even for a program that bypasses the API.
pub async fn triggers_refuse_raw_changes(db: &TestDb) {
    let store = db.open().await;
    signed_study(&store, 1).await;
    store.import_image(&image(2, 1)).await.unwrap();
    store
        .add_addendum(study_uid(1), "Addendum.", "Dr A")
        .await
        .unwrap();
    let signed_id = store.study(study_uid(1)).await.unwrap().study.id.0;
    let unsigned_id = store.study(study_uid(2)).await.unwrap().study.id.0;
    let chain_before = store.verify_audit_chain().await.unwrap();
    let signoff_before = store.study(study_uid(1)).await.unwrap().signoff;

    let mut refused = vec![
        "UPDATE signoffs SET signer = 'Mallory'".to_owned(),
        "DELETE FROM signoffs".to_owned(),
        "UPDATE report_versions SET findings = 'Forged.'".to_owned(),
        "DELETE FROM report_versions".to_owned(),
        "UPDATE addenda SET text = 'Forged.'".to_owned(),
        "DELETE FROM addenda".to_owned(),
        "UPDATE audit_log SET actor = 'Mallory'".to_owned(),
        "DELETE FROM audit_log".to_owned(),
        format!(
            "INSERT INTO report_versions (study_id, number, findings, impression, provenance, \
             author, created_at) VALUES ({signed_id}, 2, 'Forged.', 'x', '{{}}', 'Mallory', \
             '2026-01-01T00:00:00Z')"
        ),
        format!(
            "INSERT INTO addenda (study_id, text, author, created_at) VALUES ({unsigned_id}, \
             'Early.', 'Mallory', '2026-01-01T00:00:00Z')"
        ),
    ];
    if db.backend == Backend::Postgres {
        refused.extend(
            ["signoffs", "report_versions", "addenda", "audit_log"]
                .map(|table| format!("TRUNCATE {table} CASCADE")),
        );
    }
    for sql in &refused {
        let error = raw_execute(&store, sql)
            .await
            .expect_err(&format!("the database accepted: {sql}"));
        assert!(
            error.to_string().contains("raddraft:"),
            "{sql}: refused, but not by a raddraft trigger: {error}"
        );
    }

    // The same statements on rows a trigger does not guard still work: the refusal is targeted.
    assert_eq!(
        raw_execute(
            &store,
            "UPDATE studies SET description = 'XR CHEST' WHERE study_uid IS NOT NULL"
        )
        .await
        .unwrap(),
        2
    );
    assert_eq!(
        store.study(study_uid(1)).await.unwrap().signoff,
        signoff_before
    );
    assert_eq!(store.report_versions(study_uid(1)).await.unwrap().len(), 1);
    assert_eq!(
        store.addenda(study_uid(1)).await.unwrap()[0].text,
        "Addendum."
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), chain_before);
}

pub async fn audit_chain_detects_tampering(db: &TestDb) {
    let store = db.open().await;
    store.import_image(&image(1, 1)).await.unwrap();
    store.import_image(&image(1, 2)).await.unwrap();
    store
        .add_draft(&draft(1, DraftStatus::Completed))
        .await
        .unwrap();
    store
        .add_report_version(&version(1, "Text.", "Dr A"))
        .await
        .unwrap();
    store.import_image(&image(2, 1)).await.unwrap();
    let entries = store.audit_log(None).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let intact = store.verify_audit_chain().await.unwrap();
    assert!(intact.is_intact());
    assert_eq!(intact.entries_checked, 5);
    assert_eq!(intact.last_good_hash, entries[4].hash);

    let (drop_update, drop_delete) = match db.backend {
        Backend::Sqlite => (
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ),
        Backend::Postgres => ("DROP TRIGGER audit_log_immutable ON audit_log", "SELECT 1"),
    };
    raw_execute(&store, drop_update).await.unwrap();
    raw_execute(&store, drop_delete).await.unwrap();

    raw_execute(
        &store,
        "UPDATE audit_log SET actor = 'Mallory' WHERE seq = 3",
    )
    .await
    .unwrap();
    let report = store.verify_audit_chain().await.unwrap();
    let broken = report.first_break.clone().expect("tampering detected");
    assert_eq!(broken.seq, 3);
    assert!(matches!(broken.problem, ChainProblem::HashMismatch { .. }));
    assert_eq!(report.entries_checked, 3);
    assert_eq!(report.last_good_hash, entries[1].hash);
    assert!(broken.to_string().contains("entry 3"), "{broken}");

    // A forger who also rewrites the row's hash breaks the link to the next row instead.
    let row = &entries[2];
    let forged = audit_entry_hash(
        &row.prev_hash,
        row.seq,
        &row.at,
        "Mallory",
        &row.action,
        row.study_uid.as_deref(),
        &row.details,
    );
    raw_execute(
        &store,
        &format!("UPDATE audit_log SET hash = '{forged}' WHERE seq = 3"),
    )
    .await
    .unwrap();
    let broken = store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_break
        .unwrap();
    assert_eq!(broken.seq, 4);
    assert!(matches!(
        broken.problem,
        ChainProblem::PrevHashMismatch { .. }
    ));

    // Restored, the chain verifies again; removing a row then leaves a gap.
    raw_execute(
        &store,
        &format!(
            "UPDATE audit_log SET actor = '{}', hash = '{}' WHERE seq = 3",
            row.actor, row.hash
        ),
    )
    .await
    .unwrap();
    assert!(store.verify_audit_chain().await.unwrap().is_intact());
    raw_execute(&store, "DELETE FROM audit_log WHERE seq = 4")
        .await
        .unwrap();
    let broken = store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_break
        .unwrap();
    assert_eq!(broken.seq, 5);
    assert_eq!(broken.problem, ChainProblem::Gap { expected_seq: 4 });
}

pub async fn audit_log_filters_by_study(db: &TestDb) {
    let store = db.open().await;
    store.import_image(&image(1, 1)).await.unwrap();
    store.import_image(&image(2, 1)).await.unwrap();
    store.import_image(&image(1, 2)).await.unwrap();
    let first = store.audit_log(Some(study_uid(1).into())).await.unwrap();
    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 3]);
    let study_id = store.study(study_uid(2)).await.unwrap().study.id;
    let second = store.audit_log(Some(study_id.into())).await.unwrap();
    assert_eq!(second.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
    assert_eq!(store.audit_log(None).await.unwrap().len(), 3);
    assert!(matches!(
        store.audit_log(Some("9.9.9".into())).await,
        Err(StoreError::StudyNotFound { .. })
    ));
}

pub async fn models_registry(db: &TestDb) {
    let store = db.open().await;
    let model = NewModel {
        name: "paligemma2-3b-448".into(),
        directory: "/models/pg2-448".into(),
        file_sha256: [
            ("config.json".to_owned(), "11".repeat(32)),
            ("model.safetensors".to_owned(), "22".repeat(32)),
        ]
        .into(),
        summary: serde_json::json!({ "image_size": 448, "dtype": "bf16" }),
    };
    let id = store.add_model(&model).await.unwrap();
    assert_eq!(store.add_model(&model).await.unwrap(), id);
    let mut changed = model.clone();
    changed
        .file_sha256
        .insert("model.safetensors".into(), "33".repeat(32));
    assert!(matches!(
        store.add_model(&changed).await,
        Err(StoreError::ModelExists { name }) if name == model.name
    ));
    let mut other = model.clone();
    other.name = "another-model".into();
    store.add_model(&other).await.unwrap();

    let listed = store.models().await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["another-model", "paligemma2-3b-448"]
    );
    let stored = store.model(&model.name).await.unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(stored.directory, "/models/pg2-448");
    assert_eq!(stored.file_sha256, model.file_sha256);
    assert_eq!(stored.summary, model.summary);
    assert!(matches!(
        store.model("missing").await,
        Err(StoreError::ModelNotFound { .. })
    ));
    let actions: Vec<String> = store
        .audit_log(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["model.added", "model.added"]);
}

pub async fn reopening_keeps_everything(db: &TestDb) {
    let store = db.open().await;
    let version_id = signed_study(&store, 1).await;
    let chain = store.verify_audit_chain().await.unwrap();
    store.close().await;

    let reopened = db.open().await;
    let detail = reopened.study(study_uid(1)).await.unwrap();
    assert_eq!(detail.status, StudyStatus::Signed);
    assert_eq!(detail.signoff.unwrap().report_version_id, version_id);
    assert_eq!(reopened.verify_audit_chain().await.unwrap(), chain);
    reopened.import_image(&image(2, 1)).await.unwrap();
    let chain = reopened.verify_audit_chain().await.unwrap();
    assert!(chain.is_intact());
    assert_eq!(chain.entries_checked, 4);
}

pub async fn newer_schema_is_refused(db: &TestDb) {
    let store = db.open().await;
    store.import_image(&image(1, 1)).await.unwrap();
    let checksum = match db.backend {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    raw_execute(
        &store,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (9999, 'from a newer raddraft', TRUE, {checksum}, 0)"
        ),
    )
    .await
    .unwrap();
    store.close().await;
    let refused = Store::open(&db.location).await;
    match refused {
        Err(error @ StoreError::NewerSchema { found: 9999, .. }) => {
            assert!(error.to_string().contains("upgrade raddraft"), "{error}");
        }
        other => panic!("expected NewerSchema, got {:?}", other.map(|_| "a store")),
    }
}
