//! Small, forgiving accessors for DICOM attributes: absent or unreadable values read as `None`.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

/// A parsed DICOM data set (or sequence item).
pub(crate) type Object = InMemDicomObject;

/// The value as text with DICOM padding removed; `None` when absent, empty or not textual.
/// Multiple values are joined with `\`.
pub(crate) fn text(obj: &Object, tag: Tag) -> Option<String> {
    let element = obj.element_opt(tag).ok().flatten()?;
    let value = element.to_str().ok()?;
    let trimmed = value.trim_matches(|c: char| c == ' ' || c == '\0');
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// The first value as an integer (binary or IS/DS text).
pub(crate) fn int(obj: &Object, tag: Tag) -> Option<i64> {
    let element = obj.element_opt(tag).ok().flatten()?;
    element.to_int::<i64>().ok()
}

/// All values as integers; empty when absent or unreadable.
pub(crate) fn ints(obj: &Object, tag: Tag) -> Vec<i64> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|element| element.to_multi_int::<i64>().ok())
        .unwrap_or_default()
}

/// All values as finite floating-point numbers; empty when absent, unreadable or not finite.
pub(crate) fn floats(obj: &Object, tag: Tag) -> Vec<f64> {
    let values = obj
        .element_opt(tag)
        .ok()
        .flatten()
        .and_then(|element| element.to_multi_float64().ok())
        .unwrap_or_default();
    if values.iter().all(|v| v.is_finite()) {
        values
    } else {
        Vec::new()
    }
}

/// The first value as a finite float.
pub(crate) fn float(obj: &Object, tag: Tag) -> Option<f64> {
    floats(obj, tag).first().copied()
}

/// The items of a sequence; empty when absent or not a sequence.
pub(crate) fn items(obj: &Object, tag: Tag) -> &[Object] {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|element| element.items())
        .unwrap_or(&[])
}

/// Whether the attribute is present at all (even empty).
pub(crate) fn present(obj: &Object, tag: Tag) -> bool {
    matches!(obj.element_opt(tag), Ok(Some(_)))
}
