//! The SR content tree, after DICOM TID 2000 (Basic Diagnostic Imaging Report):
//!
//! ```text
//! CONTAINER (18748-4, LN, "Diagnostic Imaging Report")
//!   HAS OBS CONTEXT  Observer Type = Device, Device Observer UID / Name = the model  (AI drafts)
//!   HAS OBS CONTEXT  Observer Type = Person, Person Observer Name = the signer       (signed)
//!   CONTAINS TEXT (121106, DCM, "Comment") = status label and AI disclosure
//!   CONTAINS CONTAINER (121070, DCM, "Findings")
//!     CONTAINS TEXT (121071, DCM, "Finding")
//!       INFERRED FROM IMAGE = the source radiograph
//!   CONTAINS CONTAINER (121072, DCM, "Impressions")
//!     CONTAINS TEXT (121073, DCM, "Impression")
//!   CONTAINS CONTAINER (55107-7, LN, "Addendum")   one per addendum
//!     HAS OBS CONTEXT  Observer Type = Person, Person Observer Name = its author
//!     CONTAINS TEXT (55107-7, LN, "Addendum")
//! ```
//!
//! No Content Template Sequence is written: the tree follows TID 2000's shape but adds the
//! comment and addendum items, so it claims no template.

use dicom_core::VR;
use dicom_dictionary_std::tags;

use super::dicom_modules::{
    code_item, put, put_sequence, sop_reference, Code, Object, DIAGNOSTIC_IMAGING_REPORT,
};
use super::wording;
use super::{ImageRef, ReportDocument, ReportStatus};

const FINDINGS: Code = Code("121070", "DCM", "Findings");
const FINDING: Code = Code("121071", "DCM", "Finding");
const IMPRESSIONS: Code = Code("121072", "DCM", "Impressions");
const IMPRESSION: Code = Code("121073", "DCM", "Impression");
const COMMENT: Code = Code("121106", "DCM", "Comment");
const ADDENDUM: Code = Code("55107-7", "LN", "Addendum");
const OBSERVER_TYPE: Code = Code("121005", "DCM", "Observer Type");
const PERSON: Code = Code("121006", "DCM", "Person");
const DEVICE: Code = Code("121007", "DCM", "Device");
const PERSON_OBSERVER_NAME: Code = Code("121008", "DCM", "Person Observer Name");
const DEVICE_OBSERVER_UID: Code = Code("121012", "DCM", "Device Observer UID");
const DEVICE_OBSERVER_NAME: Code = Code("121013", "DCM", "Device Observer Name");

const CONTAINS: &str = "CONTAINS";
const HAS_OBS_CONTEXT: &str = "HAS OBS CONTEXT";
const INFERRED_FROM: &str = "INFERRED FROM";

/// Puts the root content item (the SR Document Content module) on `obj`.
pub(super) fn put_content(obj: &mut Object, doc: &ReportDocument) {
    put(obj, tags::VALUE_TYPE, VR::CS, "CONTAINER");
    put_sequence(
        obj,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code_item(&DIAGNOSTIC_IMAGING_REPORT)],
    );
    put(obj, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    put_sequence(obj, tags::CONTENT_SEQUENCE, children(doc));
}

fn children(doc: &ReportDocument) -> Vec<Object> {
    let mut items = Vec::new();
    if wording::ai_involved(doc) {
        let model = doc.model.as_deref().unwrap_or("AI system");
        items.push(coded(HAS_OBS_CONTEXT, &OBSERVER_TYPE, &DEVICE));
        items.push(uid_ref(
            HAS_OBS_CONTEXT,
            &DEVICE_OBSERVER_UID,
            &device_uid(model),
        ));
        items.push(text(HAS_OBS_CONTEXT, &DEVICE_OBSERVER_NAME, model, vec![]));
    }
    if let (ReportStatus::Final, Some(signer)) = (doc.status, &doc.signed_by) {
        items.extend(person_observer(signer));
    }

    let comment = match (doc.status, wording::ai_disclosure(doc)) {
        (ReportStatus::Preliminary, Some(disclosure)) => {
            Some(format!("{}. {disclosure}", wording::preliminary_label(doc)))
        }
        (ReportStatus::Preliminary, None) => Some(wording::preliminary_label(doc).to_string()),
        (ReportStatus::Final, disclosure) => disclosure,
    };
    if let Some(comment) = comment {
        items.push(text(CONTAINS, &COMMENT, &comment, vec![]));
    }

    let evidence = doc.source_image.iter().map(image).collect();
    items.push(section(&FINDINGS, &FINDING, &doc.findings, evidence));
    items.push(section(&IMPRESSIONS, &IMPRESSION, &doc.impression, vec![]));
    for addendum in &doc.addenda {
        let mut children = person_observer(&addendum.author);
        let signed = format!(
            "{}\n— {}, {}",
            addendum.text.trim(),
            wording::person_name(&addendum.author),
            wording::display_time(&addendum.at)
        );
        children.push(text(CONTAINS, &ADDENDUM, &signed, vec![]));
        items.push(container(&ADDENDUM, children));
    }
    items
}

/// A heading container with one TEXT item, or none when the text is empty (Text Value is Type 1).
fn section(heading: &Code, entry: &Code, body: &str, evidence: Vec<Object>) -> Object {
    let body = body.trim();
    let children = if body.is_empty() {
        vec![]
    } else {
        vec![text(CONTAINS, entry, body, evidence)]
    };
    container(heading, children)
}

fn person_observer(name: &str) -> Vec<Object> {
    let mut person = item(HAS_OBS_CONTEXT, "PNAME", Some(&PERSON_OBSERVER_NAME));
    put(&mut person, tags::PERSON_NAME, VR::PN, name.trim());
    vec![coded(HAS_OBS_CONTEXT, &OBSERVER_TYPE, &PERSON), person]
}

fn container(concept: &Code, children: Vec<Object>) -> Object {
    let mut container = item(CONTAINS, "CONTAINER", Some(concept));
    put(
        &mut container,
        tags::CONTINUITY_OF_CONTENT,
        VR::CS,
        "SEPARATE",
    );
    if !children.is_empty() {
        put_sequence(&mut container, tags::CONTENT_SEQUENCE, children);
    }
    container
}

fn text(relationship: &str, concept: &Code, value: &str, children: Vec<Object>) -> Object {
    let mut text = item(relationship, "TEXT", Some(concept));
    put(&mut text, tags::TEXT_VALUE, VR::UT, value);
    if !children.is_empty() {
        put_sequence(&mut text, tags::CONTENT_SEQUENCE, children);
    }
    text
}

fn coded(relationship: &str, concept: &Code, value: &Code) -> Object {
    let mut coded = item(relationship, "CODE", Some(concept));
    put_sequence(
        &mut coded,
        tags::CONCEPT_CODE_SEQUENCE,
        vec![code_item(value)],
    );
    coded
}

fn uid_ref(relationship: &str, concept: &Code, uid: &str) -> Object {
    let mut uid_ref = item(relationship, "UIDREF", Some(concept));
    put(&mut uid_ref, tags::UID, VR::UI, uid);
    uid_ref
}

fn image(image: &ImageRef) -> Object {
    let mut item = item(INFERRED_FROM, "IMAGE", None);
    put_sequence(
        &mut item,
        tags::REFERENCED_SOP_SEQUENCE,
        vec![sop_reference(image)],
    );
    item
}

fn item(relationship: &str, value_type: &str, concept: Option<&Code>) -> Object {
    let mut item = Object::new_empty();
    put(&mut item, tags::RELATIONSHIP_TYPE, VR::CS, relationship);
    put(&mut item, tags::VALUE_TYPE, VR::CS, value_type);
    if let Some(concept) = concept {
        put_sequence(
            &mut item,
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code_item(concept)],
        );
    }
    item
}

/// A stable UID for a model: `2.25.` + the name-based (version 5) UUID of its name, so every
/// report drafted by the same model names the same device.
fn device_uid(model: &str) -> String {
    let name = format!("urn:raddraft:model:{model}");
    let uuid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes());
    format!("2.25.{}", uuid.as_u128())
}
