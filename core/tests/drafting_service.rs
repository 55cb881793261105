//! The drafting service on the bundled random-weight demo checkpoint: event order, queueing,
//! cancellation, failures, and that the stored draft matches a direct generation.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, OnceLock};

use raddraft_core::drafting::{
    DraftEvent, DraftParams, DraftRequest, DraftService, JobHandle, Origin,
};
use raddraft_ingest::{self as dicom, Profile};
use raddraft_models::generation::{self, FinishReason, GenerationConfig};
use raddraft_models::{Checkpoint, LoadOptions};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn checkpoint() -> Checkpoint {
    Checkpoint::load(&repo().join("demo/checkpoint"), &LoadOptions::default())
        .expect("the demo checkpoint loads")
}

fn request(max_new_tokens: usize) -> DraftRequest {
    DraftRequest::new(
        repo().join("demo/sample-cxr.dcm"),
        None,
        DraftParams {
            max_new_tokens,
            ..DraftParams::default()
        },
    )
}

#[test]
fn a_draft_matches_direct_generation_and_its_spans_tile_the_sections() {
    let service = DraftService::start(checkpoint());
    let mut events = Vec::new();
    let outcome = service
        .draft_blocking(request(12), |e| events.push(e.clone()))
        .expect("drafting succeeds");

    // The same prompt and ids as generating directly with the library.
    let mut direct = checkpoint();
    let (image, meta) =
        dicom::load_model_image(repo().join("demo/sample-cxr.dcm"), Profile::MimicCxrJpg).unwrap();
    let indication = meta.and_then(|m| m.indication).map(|i| i.text);
    assert_eq!(outcome.indication, indication);
    assert_eq!(
        outcome.prompt,
        format!("INDICATION: {}", indication.unwrap())
    );
    let pixels = direct.pixel_values(&image).unwrap();
    let prefix = direct.prefix_ids(&outcome.prompt).unwrap();
    let config = GenerationConfig::greedy(12, direct.config.eos_token_ids());
    let expected = generation::generate(
        &mut direct.model,
        &prefix,
        &pixels,
        &config,
        &mut |_| ControlFlow::Continue(()),
        None,
    )
    .unwrap();
    assert_eq!(outcome.token_ids, expected.token_ids);
    assert_eq!(outcome.logprobs, expected.logprobs);

    // Started, one Token per generated id (streaming the growing text), then Finished.
    assert!(matches!(events.first(), Some(DraftEvent::Started { .. })));
    assert!(matches!(events.last(), Some(DraftEvent::Finished { .. })));
    let tokens: Vec<(u32, String)> = events
        .iter()
        .filter_map(|e| match e {
            DraftEvent::Token { id, text, .. } => Some((*id, text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        tokens.iter().map(|t| t.0).collect::<Vec<_>>(),
        outcome.token_ids
    );
    let decoded = direct.tokenizer.decode(&outcome.token_ids).unwrap();
    assert_eq!(tokens.last().map(|t| t.1.as_str()), Some(decoded.as_str()));

    // Every model sentence is AI-generated and the spans tile each section.
    for (text, spans) in [
        (&outcome.draft.findings, &outcome.draft.provenance.findings),
        (
            &outcome.draft.impression,
            &outcome.draft.provenance.impression,
        ),
    ] {
        let mut at = 0;
        for span in spans {
            assert_eq!(span.start, at);
            assert_eq!(span.origin, Origin::Ai);
            let mean = span
                .mean_logprob
                .expect("model spans carry a log-probability");
            assert!(mean <= 0.0);
            assert_eq!(
                span.low_confidence,
                mean < outcome.params.low_confidence_logprob
            );
            at = span.end;
        }
        assert_eq!(at, text.len());
    }
    assert!(outcome.draft.provenance.has_unreviewed_ai_text() || decoded.trim().is_empty());
}

#[test]
fn jobs_run_in_order_and_cancel_stops_one() {
    let service = DraftService::start(checkpoint());
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    // The first job cancels itself from its own event sink, on the worker thread, when token 2
    // arrives: the cancel is then in place before the next step, whatever the thread timing.
    let handle: Arc<OnceLock<JobHandle>> = Arc::new(OnceLock::new());
    let own_handle = handle.clone();
    let first = service.submit(request(40), move |e| {
        if let DraftEvent::Token { index: 2, .. } = e {
            own_handle.wait().cancel();
        }
        let _ = tx.send(e);
    });
    let _ = handle.set(first.clone());
    let second = service.submit(request(3), move |e| {
        let _ = tx2.send(e);
    });
    let mut order = Vec::new();
    let mut cancelled_at = None;
    let mut finished = Vec::new();
    for event in rx.iter() {
        match &event {
            DraftEvent::Started { job } => order.push(*job),
            DraftEvent::Token { job, index, .. } if *job == first.id && *index == 2 => {
                cancelled_at = Some(*index);
            }
            DraftEvent::Finished { job, outcome } => {
                finished.push((*job, outcome.finish_reason, outcome.token_ids.len()));
            }
            DraftEvent::Failed { message, .. } => panic!("unexpected failure: {message}"),
            _ => {}
        }
        if finished.len() == 2 {
            break;
        }
    }
    assert_eq!(order, vec![first.id, second.id]);
    assert_eq!(cancelled_at, Some(2));
    assert_eq!(finished[0].0, first.id);
    assert_eq!(finished[0].1, FinishReason::Cancelled);
    assert!(
        finished[0].2 <= 4,
        "stopped at the next token: {}",
        finished[0].2
    );
    assert_eq!(finished[1].0, second.id);
    assert_ne!(finished[1].1, FinishReason::Cancelled);
}

#[test]
fn a_bad_image_fails_the_job_with_its_path_and_the_service_carries_on() {
    let service = DraftService::start(checkpoint());
    let missing = DraftRequest {
        image: repo().join("demo/no-such-image.dcm"),
        ..request(3)
    };
    let err = service.draft_blocking(missing, |_| {}).unwrap_err();
    assert!(err.contains("no-such-image.dcm"), "{err}");

    assert!(service.draft_blocking(request(2), |_| {}).is_ok());
}

#[test]
fn an_image_without_indication_is_drafted_with_the_bare_template() {
    let service = DraftService::start(checkpoint());
    let png_without_indication = DraftRequest {
        image: repo().join("demo/sample-cxr.png"),
        ..request(3)
    };
    let outcome = service
        .draft_blocking(png_without_indication, |_| {})
        .expect("drafting succeeds");
    assert_eq!(outcome.prompt, "INDICATION:");
    assert_eq!(outcome.indication, None);
    assert_eq!(outcome.token_ids.len(), 3);

    // A blank indication is no indication.
    let blank = DraftRequest {
        image: repo().join("demo/sample-cxr.png"),
        indication: Some("  ".into()),
        ..request(3)
    };
    let outcome = service.draft_blocking(blank, |_| {}).unwrap();
    assert_eq!(outcome.prompt, "INDICATION:");
    assert_eq!(outcome.indication, None);
}
