//! Manifests (JSONL/CSV schema, MIMIC-CXR layout, DICOM folder), shard hashing, the resumable
//! drafts writer and merging shards.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use raddraft_core::research::drafts::{read_drafts, DraftRow, DraftWriter, OpenMode};
use raddraft_core::research::manifest::{write_manifest, Manifest, ManifestItem};
use raddraft_core::research::merge::merge_drafts;
use raddraft_core::research::mimic::{load_mimic, MimicOptions};
use raddraft_core::research::shard::{id_hash, shard_of, ShardSpec};
use raddraft_core::research::ResearchError;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn item(id: &str) -> ManifestItem {
    ManifestItem {
        id: id.to_owned(),
        images: vec![PathBuf::from(format!("{id}.png"))],
        indication: None,
        reference: Some(format!("reference {id}")),
        view_position: None,
    }
}

fn row(id: &str, shard: &str) -> DraftRow {
    let mut row = DraftRow::failure(id, "model-a", shard, String::new());
    row.error = None;
    row.hypothesis = Some(format!("draft {id}"));
    row
}

#[test]
fn jsonl_and_csv_manifests_read_alike() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("m.jsonl");
    write(
        &jsonl,
        "{\"id\": \"a\", \"images\": [\"x/a1.dcm\", \"/abs/a2.dcm\"], \"indication\": \"Cough\", \"view_position\": \"PA\", \"extra\": 1}\n\n{\"id\": \"b\", \"images\": [\"b.png\"], \"reference\": \"\"}\n",
    );
    let csv = dir.path().join("m.csv");
    write(
        &csv,
        "id,images,indication,reference,view_position,subject\na,x/a1.dcm; /abs/a2.dcm,Cough,,PA,9\nb,b.png,,,,9\n",
    );
    let from_jsonl = Manifest::read(&jsonl).unwrap();
    let from_csv = Manifest::read(&csv).unwrap();
    assert_eq!(from_jsonl.items, from_csv.items);
    let a = &from_jsonl.items[0];
    assert_eq!(
        a.images,
        [PathBuf::from("x/a1.dcm"), PathBuf::from("/abs/a2.dcm")]
    );
    assert_eq!(a.indication.as_deref(), Some("Cough"));
    assert_eq!(
        from_jsonl.items[1].reference, None,
        "empty strings are absent"
    );
    assert_eq!(
        from_jsonl.resolve(&a.images[0]),
        dir.path().join("x/a1.dcm")
    );
    assert_eq!(
        from_jsonl.resolve(&a.images[1]),
        PathBuf::from("/abs/a2.dcm")
    );
}

#[test]
fn manifest_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "{\"id\": \"a\", \"images\": [\"a.png\"]}\n{\"id\": \"a\", \"images\": [\"b.png\"]}\n",
            "line 2: duplicate id \"a\" (first on line 1)",
        ),
        (
            "{\"id\": \"a\", \"images\": []}\n",
            "line 1: \"a\" has no image path",
        ),
        ("{\"id\": \"a\"}\n", "line 1: not a manifest item"),
        (
            "{\"id\": \" \", \"images\": [\"a.png\"]}\n",
            "line 1: \"id\" is empty",
        ),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("bad.jsonl");
        write(&path, text);
        let message = Manifest::read(&path).unwrap_err().to_string();
        assert!(message.contains(expected), "{message}");
    }
    let csv = dir.path().join("bad.csv");
    write(&csv, "id,indication\na,b\n");
    let message = Manifest::read(&csv).unwrap_err().to_string();
    assert!(message.contains("no \"images\" column"), "{message}");
}

#[test]
fn written_manifests_read_back_with_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = item("a");
    a.images = vec![
        dir.path().join("files/a.jpg"),
        PathBuf::from("/elsewhere/a.jpg"),
    ];
    let path = dir.path().join("m.jsonl");
    write_manifest(&path, &[a, item("b")]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"files/a.jpg\""), "{text}");
    let manifest = Manifest::read(&path).unwrap();
    assert_eq!(
        manifest.resolve(&manifest.items[0].images[0]),
        dir.path().join("files/a.jpg")
    );
    assert_eq!(
        manifest.items[0].images[1],
        PathBuf::from("/elsewhere/a.jpg")
    );
}

/// A MIMIC-CXR-JPG tree: studies 1 and 2 in test, 3 in train; study 2 lacks its report and
/// one image; the split file gzipped; the metadata file naming the views.
fn mimic_tree(root: &Path) {
    let study = |subject: &str, study: &str| {
        root.join(format!("files/p{}/p{subject}/s{study}", &subject[..2]))
    };
    for (subject, study_id, dicoms) in [
        ("10000001", "50000001", ["lat1", "pa1"]),
        ("10000002", "50000002", ["ap2", "gone2"]),
        ("11000003", "50000003", ["pa3", "lat3"]),
    ] {
        for dicom in dicoms {
            if dicom != "gone2" {
                write(
                    &study(subject, study_id).join(format!("{dicom}.jpg")),
                    "not read",
                );
            }
        }
    }
    write(
        &root.join("files/p10/p10000001/s50000001.txt"),
        " FINAL REPORT\n INDICATION: Cough.\n \n FINDINGS: Clear.\n \n IMPRESSION: Normal.\n",
    );
    write(
        &root.join("files/p11/p11000003/s50000003.txt"),
        " FINAL REPORT\n HISTORY: Fever.\n \n IMPRESSION: Pneumonia.\n",
    );
    let split = "dicom_id,study_id,subject_id,split\nlat1,50000001,10000001,test\npa1,50000001,10000001,test\nap2,50000002,10000002,test\ngone2,50000002,10000002,test\npa3,50000003,11000003,train\nlat3,50000003,11000003,train\n";
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(split.as_bytes()).unwrap();
    std::fs::write(
        root.join("mimic-cxr-2.0.0-split.csv.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    write(
        &root.join("mimic-cxr-2.0.0-metadata.csv"),
        "dicom_id,subject_id,study_id,ViewPosition\nlat1,10000001,50000001,LATERAL\npa1,10000001,50000001,PA\nap2,10000002,50000002,AP\npa3,11000003,50000003,PA\nlat3,11000003,50000003,LL\n",
    );
}

#[test]
fn mimic_layout_selects_the_split_and_puts_frontal_views_first() {
    let dir = tempfile::tempdir().unwrap();
    mimic_tree(dir.path());
    let options = MimicOptions {
        root: dir.path().to_path_buf(),
        reports: None,
        split_csv: None,
        metadata_csv: None,
        split: Some("test".into()),
    };
    let loaded = load_mimic(&options).unwrap();
    let ids: Vec<&str> = loaded.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["s50000001", "s50000002"]);
    let first = &loaded.items[0];
    let names: Vec<String> = first
        .images
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["pa1.jpg", "lat1.jpg"]);
    assert_eq!(first.view_position.as_deref(), Some("PA"));
    assert_eq!(first.indication.as_deref(), Some("Cough."));
    assert_eq!(first.reference.as_deref(), Some("Clear. Normal."));
    let second = &loaded.items[1];
    assert_eq!(second.images.len(), 1);
    assert_eq!(
        (second.indication.as_deref(), second.reference.as_deref()),
        (None, None)
    );
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].starts_with("1 image(s) of the split file are missing"));
    assert!(loaded.warnings[1].starts_with("1 report(s) are missing"));

    let all = load_mimic(&MimicOptions {
        split: None,
        ..options.clone()
    })
    .unwrap();
    assert_eq!(all.items.len(), 3);
    assert_eq!(all.items[2].indication.as_deref(), Some("Fever."));
    assert_eq!(all.items[2].reference.as_deref(), Some("Pneumonia."));

    let message = load_mimic(&MimicOptions {
        split: Some("validate".into()),
        ..options
    })
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("no row has split \"validate\"; the file's splits are: test, train"),
        "{message}"
    );
}

#[test]
fn mimic_layout_without_a_split_file_says_where_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let message = load_mimic(&MimicOptions {
        root: dir.path().to_path_buf(),
        reports: None,
        split_csv: None,
        metadata_csv: None,
        split: Some("test".into()),
    })
    .unwrap_err()
    .to_string();
    assert!(message.contains("mimic-cxr-2.0.0-split.csv"), "{message}");
    assert!(message.contains("--split-csv"), "{message}");
}

#[test]
fn dicom_folder_groups_by_study_and_reads_the_header() {
    use raddraft_core::research::dicom_folder::load_dicom_folder;
    let dir = tempfile::tempdir().unwrap();
    let demo = workspace().join("demo/sample-cxr.dcm");
    let other = workspace().join("tests/fixtures/dicom/synthetic/mono2_linear.dcm");
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::copy(&demo, dir.path().join("a/one.dcm")).unwrap();
    std::fs::copy(&demo, dir.path().join("a/b/two.dcm")).unwrap();
    write(
        &dir.path().join("a/one.txt"),
        "FINDINGS: Clear.\nIMPRESSION: Normal.\n",
    );
    std::fs::copy(&other, dir.path().join("other.dcm")).unwrap();
    std::fs::copy(
        workspace().join("tests/fixtures/dicom/bad/truncated.dcm"),
        dir.path().join("truncated.dcm"),
    )
    .unwrap();
    write(&dir.path().join("notes.txt"), "not a DICOM file");

    let loaded = load_dicom_folder(dir.path()).unwrap();
    assert_eq!(loaded.items.len(), 2, "{:?}", loaded.items);
    let demo_study = &loaded.items[0];
    assert_eq!(
        demo_study.id,
        "2.25.228090408757015258024506202127490500355"
    );
    assert_eq!(demo_study.images.len(), 2);
    assert_eq!(
        demo_study.indication.as_deref(),
        Some("Cough and fever. Evaluate for pneumonia.")
    );
    assert_eq!(demo_study.reference.as_deref(), Some("Clear. Normal."));
    assert_eq!(demo_study.view_position.as_deref(), Some("PA"));
    assert_eq!(loaded.items[1].reference, None);
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0].contains("truncated.dcm"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn shard_hash_is_fnv1a_64() {
    // Published FNV-1a 64 test vectors.
    assert_eq!(id_hash(""), 0xcbf29ce484222325);
    assert_eq!(id_hash("a"), 0xaf63dc4c8601ec8c);
    assert_eq!(id_hash("foobar"), 0x85944171f73967e8);
    let spec: ShardSpec = "2/3".parse().unwrap();
    assert_eq!((spec.index, spec.count), (2, 3));
    assert_eq!(spec.to_string(), "2/3");
    assert_eq!(shard_of("a", 3), 0xaf63dc4c8601ec8c % 3);
    let ids: Vec<String> = (0..300).map(|i| format!("s5{i:07}")).collect();
    for count in [1, 2, 3, 7] {
        let owners: Vec<u64> = ids.iter().map(|id| shard_of(id, count)).collect();
        for shard in 0..count {
            let spec = ShardSpec {
                index: shard,
                count,
            };
            let owned = ids.iter().filter(|id| spec.owns(id)).count();
            assert_eq!(owned, owners.iter().filter(|&&o| o == shard).count());
            assert!(owned > 0, "shard {shard}/{count} owns nothing");
        }
    }
}

#[test]
fn bad_shard_specs_say_how_to_write_one() {
    for (spec, reason) in [
        ("3/3", "K must be less than N"),
        ("1/0", "N must be at least 1"),
        ("1", "no '/'"),
        ("a/2", "K is not a whole number"),
    ] {
        let message = spec.parse::<ShardSpec>().unwrap_err().to_string();
        assert!(message.contains(reason), "{spec}: {message}");
        assert!(message.contains("K/N"), "{message}");
    }
}

#[test]
fn drafts_writer_resumes_after_an_interrupted_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drafts.jsonl");
    let (mut writer, existing) = DraftWriter::open(&path, OpenMode::Create).unwrap();
    assert!(existing.rows.is_empty());
    writer.append(&row("a", "0/1")).unwrap();
    writer.append(&row("b", "0/1")).unwrap();
    drop(writer);
    let complete = std::fs::read(&path).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"{\"id\":\"c\",\"hypo").unwrap();
    drop(file);

    let error = DraftWriter::open(&path, OpenMode::Create).err().unwrap();
    assert!(error.to_string().contains("pass --resume"), "{error}");
    let (mut writer, existing) = DraftWriter::open(&path, OpenMode::Resume).unwrap();
    assert_eq!(existing.partial_tail, Some(15));
    let ids: Vec<&str> = existing.rows.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        complete,
        "the partial line is cut off"
    );
    writer.append(&row("c", "0/1")).unwrap();
    let reread = read_drafts(&path).unwrap();
    assert_eq!(reread.partial_tail, None);
    assert_eq!(reread.rows.len(), 3);
    assert_eq!(reread.rows[2], (3, row("c", "0/1")));
}

#[test]
fn a_complete_last_row_without_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drafts.jsonl");
    let text = serde_json::to_string(&row("a", "0/1")).unwrap();
    write(&path, &text);
    let (mut writer, existing) = DraftWriter::open(&path, OpenMode::Resume).unwrap();
    assert_eq!(existing.rows.len(), 1);
    writer.append(&row("b", "0/1")).unwrap();
    let ids: Vec<String> = read_drafts(&path)
        .unwrap()
        .rows
        .into_iter()
        .map(|(_, r)| r.id)
        .collect();
    assert_eq!(ids, ["a", "b"]);
}

#[test]
fn a_malformed_row_in_the_middle_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drafts.jsonl");
    write(&path, "{\"id\": 1}\n{}\n");
    let message = read_drafts(&path).unwrap_err().to_string();
    assert!(
        message.contains("line 1: not a row written by `raddraft batch`"),
        "{message}"
    );
}

fn manifest_of(dir: &Path, ids: &[&str]) -> Manifest {
    let path = dir.join("manifest.jsonl");
    let items: Vec<ManifestItem> = ids.iter().map(|id| item(id)).collect();
    write_manifest(&path, &items).unwrap();
    Manifest::read(&path).unwrap()
}

fn drafts_file(dir: &Path, name: &str, rows: &[DraftRow]) -> PathBuf {
    let path = dir.join(name);
    let text: String = rows
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    write(&path, &text);
    path
}

#[test]
fn merge_orders_rows_as_the_manifest_and_reports_failures() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_of(dir.path(), &["a", "b", "c"]);
    let mut failed = DraftRow::failure("b", "model-a", "1/2", "cannot read".into());
    failed.model = "model-a".into();
    let first = drafts_file(dir.path(), "0.jsonl", &[row("c", "0/2"), row("a", "0/2")]);
    let second = drafts_file(dir.path(), "1.jsonl", &[failed]);
    let merged = merge_drafts(&[first, second], &manifest).unwrap();
    let ids: Vec<&str> = merged.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(merged.failed, ["b"]);
}

#[test]
fn merge_lists_missing_duplicate_and_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_of(dir.path(), &["a", "b", "c", "d"]);
    let first = drafts_file(dir.path(), "0.jsonl", &[row("a", "0/2"), row("x", "0/2")]);
    let second = drafts_file(dir.path(), "1.jsonl", &[row("b", "1/2"), row("a", "1/2")]);
    let error = merge_drafts(&[first, second], &manifest).unwrap_err();
    match &error {
        ResearchError::IdMismatch {
            missing,
            duplicates,
            unknown,
        } => {
            assert_eq!(missing, &["c", "d"]);
            assert_eq!(duplicates.len(), 1);
            assert!(duplicates[0].starts_with("a ("), "{duplicates:?}");
            assert!(duplicates[0].contains("0.jsonl line 1"), "{duplicates:?}");
            assert!(duplicates[0].contains("1.jsonl line 2"), "{duplicates:?}");
            assert_eq!(unknown, &["x"]);
        }
        other => panic!("unexpected error {other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("2 manifest id(s) have no row: c, d"),
        "{message}"
    );
    assert!(
        message.contains("1 id(s) are not in the manifest: x"),
        "{message}"
    );
}

#[test]
fn merge_refuses_mixed_models_and_interrupted_files() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_of(dir.path(), &["a", "b"]);
    let mut other_model = row("b", "1/2");
    other_model.model = "model-b".into();
    let first = drafts_file(dir.path(), "0.jsonl", &[row("a", "0/2")]);
    let second = drafts_file(dir.path(), "1.jsonl", &[other_model]);
    let message = merge_drafts(&[first.clone(), second], &manifest)
        .unwrap_err()
        .to_string();
    assert!(message.contains("different models"), "{message}");

    let interrupted = dir.path().join("2.jsonl");
    write(&interrupted, "{\"id\":\"b\",");
    let message = merge_drafts(&[first, interrupted], &manifest)
        .unwrap_err()
        .to_string();
    assert!(message.contains("interrupted line"), "{message}");
}
