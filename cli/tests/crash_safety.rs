//! Crash safety of the study store: the draft → edit → sign flow runs as child processes of the
//! real `raddraft` binary and is killed with SIGKILL at random points, 200 times over one
//! database. After every kill the database must open cleanly, the audit chain must verify, and
//! every report signed so far must still be there, unchanged.

mod cli_support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use cli_support::{register_demo_model, write_dx};
use raddraft_core::store::{signed_content_sha256, DbLocation, DraftStatus, Store, StudyKey};

const ITERATIONS: u32 = 200;

/// A small deterministic generator (SplitMix64), so a failing kill point can be replayed.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }
}

/// The flow for one study as one process group: draft, edit, sign.
fn flow(
    db: &std::path::Path,
    image: &std::path::Path,
    study: &str,
    edit: &std::path::Path,
) -> Command {
    let bin = env!("CARGO_BIN_EXE_raddraft");
    let script = format!(
        "set -e\n\
         '{bin}' draft '{image}' --max-new-tokens 6 >/dev/null 2>&1\n\
         '{bin}' edit '{study}' --file '{edit}' --by 'Dr Edit' >/dev/null\n\
         '{bin}' sign '{study}' --by 'Smith^Anna' >/dev/null\n",
        image = image.display(),
        edit = edit.display(),
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .env("RADDRAFT_DB", db)
        .env("RUST_LOG", "error");
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd
}

#[test]
fn killing_the_flow_anywhere_never_loses_or_changes_a_signed_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    register_demo_model(&db);
    let edit = dir.path().join("edit.txt");
    std::fs::write(
        &edit,
        "FINDINGS: Lungs are clear. IMPRESSION: No acute disease.\n",
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let location = DbLocation::parse(db.to_str().unwrap()).unwrap();

    let mut rng = SplitMix(0x5EED);
    let mut full_run = Duration::ZERO;
    let mut completed: Vec<Duration> = Vec::new();
    // study uid → (signer, content sha256) of every sign-off seen so far.
    let mut signed: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut killed = 0;
    let mut interrupted: Vec<(String, std::path::PathBuf)> = Vec::new();
    for i in 0..ITERATIONS {
        let image = dir.path().join(format!("dx{i}.dcm"));
        let study = write_dx(&image, i);
        let mut child = flow(&db, &image, &study, &edit).spawn().unwrap();
        let started = Instant::now();
        if i % 10 == 0 {
            // Every tenth flow runs to the end: it must succeed on the database the kills left
            // behind, and the median of these runs sets the time scale for the kill points.
            assert!(
                child.wait().unwrap().success(),
                "iteration {i}: the unkilled flow fails"
            );
            completed.push(started.elapsed());
            completed.sort();
            full_run = completed[completed.len() / 2];
        } else {
            let kill_at = full_run.mul_f64(1.2 * rng.next_f64());
            while started.elapsed() < kill_at && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(2));
            }
            if child.try_wait().unwrap().is_none() {
                // SIGKILL the whole group: the shell and the raddraft process it is running.
                let group = -(child.id() as i32);
                assert_eq!(
                    Command::new("kill")
                        .args(["-KILL", "--", &group.to_string()])
                        .status()
                        .unwrap()
                        .code(),
                    Some(0)
                );
                killed += 1;
            }
            let _ = child.wait();
        }

        let store = runtime
            .block_on(Store::open(&location))
            .unwrap_or_else(|e| panic!("iteration {i}: the database does not open: {e}"));
        let chain = runtime.block_on(store.verify_audit_chain()).unwrap();
        assert!(
            chain.is_intact(),
            "iteration {i}: audit chain broken: {chain:?}"
        );
        // Record this iteration's sign-off, if it got that far.
        let detail = runtime.block_on(store.study(StudyKey::parse(&study)));
        match detail.map(|d| d.signoff) {
            Ok(Some(signoff)) => {
                signed.insert(study.clone(), (signoff.signer, signoff.content_sha256));
            }
            _ => interrupted.push((study.clone(), image.clone())),
        }
        // Every report signed so far is still signed, by the same person, with the same text.
        for (uid, (signer, sha)) in &signed {
            let detail = runtime.block_on(store.study(StudyKey::parse(uid))).unwrap();
            let signoff = detail
                .signoff
                .unwrap_or_else(|| panic!("iteration {i}: the sign-off of {uid} is gone"));
            assert_eq!((&signoff.signer, &signoff.content_sha256), (signer, sha));
            let versions = runtime
                .block_on(store.report_versions(StudyKey::parse(uid)))
                .unwrap();
            let version = versions
                .iter()
                .find(|v| v.id == signoff.report_version_id)
                .unwrap_or_else(|| panic!("iteration {i}: the signed version of {uid} is gone"));
            assert_eq!(&signed_content_sha256(uid, version), sha, "{uid} changed");
            assert_eq!(versions.last().map(|v| v.id), Some(version.id));
        }
        runtime.block_on(store.close());
    }
    // Interrupted studies can be finished afterwards: a new flow succeeds, and the draft left
    // "running" by the killed process is recorded as failed, not left dangling.
    for (study, image) in interrupted.iter().step_by((interrupted.len() / 10).max(1)) {
        let status = flow(&db, image, study, &edit).status().unwrap();
        assert!(
            status.success(),
            "finishing interrupted study {study} fails"
        );
        let store = runtime.block_on(Store::open(&location)).unwrap();
        let drafts = runtime
            .block_on(store.drafts(StudyKey::parse(study)))
            .unwrap();
        assert!(
            drafts.iter().all(|d| d.status != DraftStatus::Running),
            "{study}: a draft is still marked running"
        );
        let detail = runtime
            .block_on(store.study(StudyKey::parse(study)))
            .unwrap();
        assert!(detail.signoff.is_some());
        runtime.block_on(store.close());
    }
    eprintln!(
        "{ITERATIONS} flows, {killed} killed, {} signed, {} interrupted; full flow {full_run:?}",
        signed.len(),
        interrupted.len()
    );
    // Kill points spread over the whole flow: some runs were cut, some reached the sign-off.
    assert!(killed >= ITERATIONS / 4, "only {killed} flows were killed");
    assert!(
        signed.len() >= 10,
        "only {} flows reached sign-off",
        signed.len()
    );
}
