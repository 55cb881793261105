//! A structural check of a FHIR R4 DiagnosticReport (JSON), encoding the rules of the R4
//! specification (hl7.org/fhir/R4/diagnosticreport.html and datatypes.html) that a report
//! exporter can get wrong: element names, cardinalities, value sets, primitive formats, complex
//! datatypes, and FHIR JSON's "no empty strings, arrays or objects".
//!
//! Not covered: terminology bindings other than `status`, extensions' own definitions, and
//! invariants that need FHIRPath beyond those listed.

use base64::Engine as _;
use regex::Regex;
use serde_json::{Map, Value};

/// R4 DiagnosticReport.status value set (http://hl7.org/fhir/ValueSet/diagnostic-report-status).
pub const REPORT_STATUS: [&str; 10] = [
    "registered",
    "partial",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "appended",
    "cancelled",
    "entered-in-error",
    "unknown",
];

/// R4 Narrative.status value set.
const NARRATIVE_STATUS: [&str; 4] = ["generated", "extensions", "additional", "empty"];

// Regular expressions from the R4 datatypes page.
const ID: &str = r"^[A-Za-z0-9\-\.]{1,64}$";
const CODE: &str = r"^[^\s]+(\s[^\s]+)*$";
const URI: &str = r"^\S*$";
const DATE_TIME: &str = r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$";
const INSTANT: &str = r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$";
const BASE64: &str = r"^(\s*([0-9a-zA-Z\+/=]){4}\s*)+$";

#[derive(Clone, Copy, PartialEq)]
enum Max {
    One,
    Many,
}

#[derive(Clone, Copy)]
enum Type {
    Id,
    Code,
    Uri,
    String,
    DateTime,
    Instant,
    Boolean,
    UnsignedInt,
    Base64,
    Xhtml,
    Meta,
    Narrative,
    CodeableConcept,
    Coding,
    Reference,
    Identifier,
    Attachment,
    Period,
    Extension,
    /// Contained resources: only checked to be objects with a resourceType.
    Resource,
}

/// (element, min, max, type) of every R4 DiagnosticReport element, inherited ones included.
const DIAGNOSTIC_REPORT: &[(&str, usize, Max, Type)] = &[
    ("id", 0, Max::One, Type::Id),
    ("meta", 0, Max::One, Type::Meta),
    ("implicitRules", 0, Max::One, Type::Uri),
    ("language", 0, Max::One, Type::Code),
    ("text", 0, Max::One, Type::Narrative),
    ("contained", 0, Max::Many, Type::Resource),
    ("extension", 0, Max::Many, Type::Extension),
    ("modifierExtension", 0, Max::Many, Type::Extension),
    ("identifier", 0, Max::Many, Type::Identifier),
    ("basedOn", 0, Max::Many, Type::Reference),
    ("status", 1, Max::One, Type::Code),
    ("category", 0, Max::Many, Type::CodeableConcept),
    ("code", 1, Max::One, Type::CodeableConcept),
    ("subject", 0, Max::One, Type::Reference),
    ("encounter", 0, Max::One, Type::Reference),
    ("effectiveDateTime", 0, Max::One, Type::DateTime),
    ("effectivePeriod", 0, Max::One, Type::Period),
    ("issued", 0, Max::One, Type::Instant),
    ("performer", 0, Max::Many, Type::Reference),
    ("resultsInterpreter", 0, Max::Many, Type::Reference),
    ("specimen", 0, Max::Many, Type::Reference),
    ("result", 0, Max::Many, Type::Reference),
    ("imagingStudy", 0, Max::Many, Type::Reference),
    ("media", 0, Max::Many, Type::Reference),
    ("conclusion", 0, Max::One, Type::String),
    ("conclusionCode", 0, Max::Many, Type::CodeableConcept),
    ("presentedForm", 0, Max::Many, Type::Attachment),
];

const META: &[(&str, usize, Max, Type)] = &[
    ("versionId", 0, Max::One, Type::Id),
    ("lastUpdated", 0, Max::One, Type::Instant),
    ("source", 0, Max::One, Type::Uri),
    ("profile", 0, Max::Many, Type::Uri),
    ("security", 0, Max::Many, Type::Coding),
    ("tag", 0, Max::Many, Type::Coding),
];
const NARRATIVE: &[(&str, usize, Max, Type)] = &[
    ("status", 1, Max::One, Type::Code),
    ("div", 1, Max::One, Type::Xhtml),
];
const CODEABLE_CONCEPT: &[(&str, usize, Max, Type)] = &[
    ("coding", 0, Max::Many, Type::Coding),
    ("text", 0, Max::One, Type::String),
];
const CODING: &[(&str, usize, Max, Type)] = &[
    ("system", 0, Max::One, Type::Uri),
    ("version", 0, Max::One, Type::String),
    ("code", 0, Max::One, Type::Code),
    ("display", 0, Max::One, Type::String),
    ("userSelected", 0, Max::One, Type::Boolean),
];
const REFERENCE: &[(&str, usize, Max, Type)] = &[
    ("reference", 0, Max::One, Type::String),
    ("type", 0, Max::One, Type::Uri),
    ("identifier", 0, Max::One, Type::Identifier),
    ("display", 0, Max::One, Type::String),
];
const IDENTIFIER: &[(&str, usize, Max, Type)] = &[
    ("use", 0, Max::One, Type::Code),
    ("type", 0, Max::One, Type::CodeableConcept),
    ("system", 0, Max::One, Type::Uri),
    ("value", 0, Max::One, Type::String),
    ("period", 0, Max::One, Type::Period),
    ("assigner", 0, Max::One, Type::Reference),
];
const ATTACHMENT: &[(&str, usize, Max, Type)] = &[
    ("contentType", 0, Max::One, Type::Code),
    ("language", 0, Max::One, Type::Code),
    ("data", 0, Max::One, Type::Base64),
    ("url", 0, Max::One, Type::Uri),
    ("size", 0, Max::One, Type::UnsignedInt),
    ("hash", 0, Max::One, Type::Base64),
    ("title", 0, Max::One, Type::String),
    ("creation", 0, Max::One, Type::DateTime),
];
const PERIOD: &[(&str, usize, Max, Type)] = &[
    ("start", 0, Max::One, Type::DateTime),
    ("end", 0, Max::One, Type::DateTime),
];

/// Every rule the resource breaks, as "path: problem"; empty when it conforms.
pub fn validate_diagnostic_report(resource: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(object) = resource.as_object() else {
        return vec!["$: a resource is a JSON object".to_string()];
    };
    match object.get("resourceType") {
        Some(Value::String(kind)) if kind == "DiagnosticReport" => {}
        other => problems.push(format!(
            "resourceType: must be \"DiagnosticReport\", found {other:?}"
        )),
    }
    let mut without_type = object.clone();
    without_type.remove("resourceType");
    check_object(
        "DiagnosticReport",
        &without_type,
        DIAGNOSTIC_REPORT,
        &mut problems,
    );

    if let Some(status) = object.get("status").and_then(Value::as_str) {
        if !REPORT_STATUS.contains(&status) {
            problems.push(format!(
                "DiagnosticReport.status: '{status}' is not in the diagnostic-report-status value set"
            ));
        }
    }
    if let Some(status) = resource.pointer("/text/status").and_then(Value::as_str) {
        if !NARRATIVE_STATUS.contains(&status) {
            problems.push(format!(
                "DiagnosticReport.text.status: '{status}' is not a narrative status"
            ));
        }
    }
    // dom-6 (best practice): a resource should have a narrative.
    if !object.contains_key("text") {
        problems.push("DiagnosticReport.text: dom-6 asks for a narrative".to_string());
    }
    problems
}

fn check_object(
    path: &str,
    object: &Map<String, Value>,
    elements: &[(&str, usize, Max, Type)],
    problems: &mut Vec<String>,
) {
    if object.is_empty() {
        problems.push(format!("{path}: FHIR JSON has no empty objects"));
    }
    for key in object.keys() {
        // `_element` carries id/extension of a primitive; it is allowed beside any element.
        let known = elements.iter().any(|(name, ..)| name == key)
            || key
                .strip_prefix('_')
                .is_some_and(|name| elements.iter().any(|(known, ..)| *known == name));
        if !known {
            problems.push(format!("{path}.{key}: not an element of this type in R4"));
        }
    }
    for &(name, min, max, kind) in elements {
        let element_path = format!("{path}.{name}");
        let values: Vec<&Value> = match (object.get(name), max) {
            (None, _) => Vec::new(),
            (Some(Value::Array(items)), Max::Many) => {
                if items.is_empty() {
                    problems.push(format!("{element_path}: FHIR JSON has no empty arrays"));
                }
                items.iter().collect()
            }
            (Some(value), Max::Many) => {
                problems.push(format!("{element_path}: 0..* elements are JSON arrays"));
                vec![value]
            }
            (Some(Value::Array(_)), Max::One) => {
                problems.push(format!("{element_path}: a 0..1 element is not an array"));
                Vec::new()
            }
            (Some(value), Max::One) => vec![value],
        };
        if values.len() < min {
            problems.push(format!("{element_path}: required (min {min}), missing"));
        }
        for (index, value) in values.into_iter().enumerate() {
            let item_path = match max {
                Max::Many => format!("{element_path}[{index}]"),
                Max::One => element_path.clone(),
            };
            check_value(&item_path, value, kind, problems);
        }
    }
}

fn check_value(path: &str, value: &Value, kind: Type, problems: &mut Vec<String>) {
    let mut string = |pattern: Option<&str>, what: &str| match value.as_str() {
        None => problems.push(format!("{path}: a {what} is a JSON string")),
        Some(text) if text.trim().is_empty() => {
            problems.push(format!("{path}: FHIR strings are not empty or blank"))
        }
        Some(text) => {
            if let Some(pattern) = pattern {
                let regex = Regex::new(pattern).expect("the R4 patterns compile");
                if !regex.is_match(text) {
                    problems.push(format!("{path}: '{text}' is not a valid {what}"));
                }
            }
        }
    };
    match kind {
        Type::Id => string(Some(ID), "id"),
        Type::Code => string(Some(CODE), "code"),
        Type::Uri => string(Some(URI), "uri"),
        Type::String => string(None, "string"),
        Type::DateTime => string(Some(DATE_TIME), "dateTime"),
        Type::Instant => string(Some(INSTANT), "instant"),
        Type::Base64 => {
            string(Some(BASE64), "base64Binary");
            if let Some(text) = value.as_str() {
                if base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .is_err()
                {
                    problems.push(format!("{path}: does not decode as base64"));
                }
            }
        }
        Type::Xhtml => match value.as_str() {
            Some(div)
                if div.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\"")
                    && div.ends_with("</div>") => {}
            _ => problems.push(format!(
                "{path}: the narrative is a <div xmlns=\"http://www.w3.org/1999/xhtml\"> element"
            )),
        },
        Type::Boolean => {
            if !value.is_boolean() {
                problems.push(format!("{path}: a boolean is a JSON true or false"));
            }
        }
        Type::UnsignedInt => {
            if value.as_u64().is_none_or(|n| n > i32::MAX as u64) {
                problems.push(format!("{path}: an unsignedInt is a JSON number 0..2^31-1"));
            }
        }
        Type::Resource => {
            if value.get("resourceType").and_then(Value::as_str).is_none() {
                problems.push(format!("{path}: a contained resource has a resourceType"));
            }
        }
        Type::Extension => match value.as_object() {
            Some(extension) if extension.get("url").and_then(Value::as_str).is_some() => {}
            _ => problems.push(format!("{path}: an extension is an object with a url")),
        },
        complex => {
            let elements = match complex {
                Type::Meta => META,
                Type::Narrative => NARRATIVE,
                Type::CodeableConcept => CODEABLE_CONCEPT,
                Type::Coding => CODING,
                Type::Reference => REFERENCE,
                Type::Identifier => IDENTIFIER,
                Type::Attachment => ATTACHMENT,
                _ => PERIOD,
            };
            match value.as_object() {
                Some(object) => {
                    let mut object = object.clone();
                    // Every complex datatype may carry an element id and extensions.
                    object.remove("id");
                    let extensions = object.remove("extension");
                    if let Some(extensions) = extensions {
                        check_object(
                            path,
                            &Map::from_iter([("extension".to_string(), extensions)]),
                            &[("extension", 0, Max::Many, Type::Extension)],
                            problems,
                        );
                    }
                    check_object(path, &object, elements, problems);
                    // att-1: if the Attachment has data, it SHALL have a contentType.
                    if matches!(complex, Type::Attachment)
                        && object.contains_key("data")
                        && !object.contains_key("contentType")
                    {
                        problems.push(format!("{path}: att-1: data without a contentType"));
                    }
                }
                None => problems.push(format!("{path}: a complex datatype is a JSON object")),
            }
        }
    }
}
