//! The report as an A4 PDF: title, status banner, patient/study header, Findings, Impression,
//! signature, AI disclosure and addenda, wrapped to the page width and continued on new pages.
//! Every page's footer repeats the report status and numbers the page.

use chrono::{DateTime, Datelike, FixedOffset, Offset, Timelike};
use pdf_writer::{Content, Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::pdf_font::{self, Face};
use super::wording::{self, REPORT_TITLE};
use super::{ReportDocument, ReportStatus};

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const FOOTER_BASELINE: f32 = 30.0;
const LABEL_WIDTH: f32 = 110.0;

const TITLE_SIZE: f32 = 16.0;
const HEADING_SIZE: f32 = 12.0;
const BODY_SIZE: f32 = 10.5;
const HEADER_SIZE: f32 = 9.0;
const FOOTER_SIZE: f32 = 8.0;

const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);
const GREY: Rgb = Rgb(0.35, 0.35, 0.35);
const WHITE: Rgb = Rgb(1.0, 1.0, 1.0);
const WARNING_RED: Rgb = Rgb(0.72, 0.09, 0.09);

#[derive(Clone, Copy)]
struct Rgb(f32, f32, f32);

pub(super) fn render(doc: &ReportDocument) -> Vec<u8> {
    let mut page = Layout::new();
    page.line(
        Face::Bold,
        TITLE_SIZE,
        MARGIN,
        &pdf_font::encode(REPORT_TITLE),
        BLACK,
    );
    page.gap(6.0);
    match doc.status {
        ReportStatus::Preliminary => page.banner(wording::preliminary_label(doc)),
        ReportStatus::Final => {
            page.paragraph(Face::Bold, BODY_SIZE, &wording::status_line(doc), BLACK)
        }
    }
    page.gap(8.0);
    for (label, value) in wording::header_fields(doc) {
        page.field(label, &value);
    }
    for (heading, body) in wording::sections(doc) {
        page.section(&heading, &body);
    }
    let footer = match doc.status {
        ReportStatus::Preliminary => wording::preliminary_label(doc).to_string(),
        ReportStatus::Final => format!("{REPORT_TITLE} — {}", wording::status_line(doc)),
    };
    assemble(page.finish(), &footer, doc)
}

/// Writes the page contents, the fonts and the document information into a PDF file.
fn assemble(pages: Vec<Content>, footer: &str, doc: &ReportDocument) -> Vec<u8> {
    let mut next_id = 1;
    let mut new_ref = || {
        let id = Ref::new(next_id);
        next_id += 1;
        id
    };
    let catalog_id = new_ref();
    let page_tree_id = new_ref();
    let info_id = new_ref();
    let regular_id = new_ref();
    let bold_id = new_ref();
    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (new_ref(), new_ref())).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(page_tree_id);
    pdf.pages(page_tree_id)
        .kids(page_ids.iter().map(|(page_id, _)| *page_id))
        .count(page_ids.len() as i32);
    for (face, id) in [(Face::Regular, regular_id), (Face::Bold, bold_id)] {
        pdf.type1_font(id)
            .base_font(Name(face.base_font()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let page_count = pages.len();
    for (number, (mut content, (page_id, content_id))) in
        pages.into_iter().zip(page_ids).enumerate()
    {
        let numbering = format!("Page {} of {page_count}", number + 1);
        draw_text(
            &mut content,
            Face::Regular,
            FOOTER_SIZE,
            MARGIN,
            FOOTER_BASELINE,
            &pdf_font::encode(footer),
            GREY,
        );
        let numbering = pdf_font::encode(&numbering);
        let right = PAGE_WIDTH - MARGIN - pdf_font::width(Face::Regular, &numbering, FOOTER_SIZE);
        draw_text(
            &mut content,
            Face::Regular,
            FOOTER_SIZE,
            right,
            FOOTER_BASELINE,
            &numbering,
            GREY,
        );

        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(page_tree_id);
        page.contents(content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), regular_id);
        fonts.pair(Name(b"F2"), bold_id);
        fonts.finish();
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    let title = match doc.status {
        ReportStatus::Preliminary => {
            format!("{REPORT_TITLE} ({})", wording::preliminary_label(doc))
        }
        ReportStatus::Final => REPORT_TITLE.to_string(),
    };
    pdf.document_info(info_id)
        .title(TextStr(&title))
        .creator(TextStr("raddraft"))
        .producer(TextStr(concat!("raddraft ", env!("CARGO_PKG_VERSION"))))
        .creation_date(pdf_date(&doc.issued_at()));
    pdf.finish()
}

fn pdf_date(at: &DateTime<FixedOffset>) -> Date {
    let offset_minutes = at.offset().fix().local_minus_utc() / 60;
    let (hours, minutes) = (offset_minutes / 60, (offset_minutes % 60).unsigned_abs());
    // Year, month, day and time fields are in range by construction; offsets are under a day.
    Date::new(u16::try_from(at.year()).unwrap_or(0))
        .month(at.month() as u8)
        .day(at.day() as u8)
        .hour(at.hour() as u8)
        .minute(at.minute() as u8)
        .second(at.second().min(59) as u8)
        .utc_offset_hour(hours as i8)
        .utc_offset_minute(minutes as u8)
}

fn font_name(face: Face) -> Name<'static> {
    match face {
        Face::Regular => Name(b"F1"),
        Face::Bold => Name(b"F2"),
    }
}

fn draw_text(
    content: &mut Content,
    face: Face,
    size: f32,
    x: f32,
    baseline: f32,
    text: &[u8],
    color: Rgb,
) {
    content.set_fill_rgb(color.0, color.1, color.2);
    content.begin_text();
    content.set_font(font_name(face), size);
    content.next_line(x, baseline);
    content.show(Str(text));
    content.end_text();
}

/// Places lines top to bottom, starting a new page when the next one would reach the footer.
struct Layout {
    pages: Vec<Content>,
    current: Content,
    /// Baseline of the last line placed.
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: Vec::new(),
            current: Content::new(),
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    fn finish(mut self) -> Vec<Content> {
        self.pages.push(self.current);
        self.pages
    }

    /// Makes room for `height` points, on a new page if this one is full.
    fn reserve(&mut self, height: f32) {
        if self.y - height < MARGIN {
            let full = std::mem::replace(&mut self.current, Content::new());
            self.pages.push(full);
            self.y = PAGE_HEIGHT - MARGIN;
        }
    }

    fn gap(&mut self, height: f32) {
        self.y -= height;
    }

    fn line(&mut self, face: Face, size: f32, x: f32, text: &[u8], color: Rgb) {
        let leading = leading(size);
        self.reserve(leading);
        self.y -= leading;
        draw_text(&mut self.current, face, size, x, self.y, text, color);
    }

    /// Text wrapped to the text width; line breaks in `text` are kept, blank lines leave a gap.
    fn paragraph(&mut self, face: Face, size: f32, text: &str, color: Rgb) {
        for source_line in text.lines() {
            let wrapped = wrap(
                face,
                size,
                &pdf_font::encode(source_line.trim_end()),
                TEXT_WIDTH,
            );
            if wrapped.is_empty() {
                self.gap(leading(size) / 2.0);
            }
            for line in wrapped {
                self.line(face, size, MARGIN, &line, color);
            }
        }
    }

    fn section(&mut self, heading: &str, body: &str) {
        self.gap(10.0);
        // Keep the heading with the first lines of its text.
        self.reserve(leading(HEADING_SIZE) + 3.0 * leading(BODY_SIZE));
        self.line(
            Face::Bold,
            HEADING_SIZE,
            MARGIN,
            &pdf_font::encode(heading),
            BLACK,
        );
        let rule = self.y - 3.0;
        self.current.set_stroke_rgb(0.6, 0.6, 0.6);
        self.current.set_line_width(0.5);
        self.current.move_to(MARGIN, rule);
        self.current.line_to(PAGE_WIDTH - MARGIN, rule);
        self.current.stroke();
        self.gap(4.0);
        self.paragraph(Face::Regular, BODY_SIZE, body, BLACK);
    }

    /// A header row: bold label, value wrapped in the column to its right.
    fn field(&mut self, label: &str, value: &str) {
        let lines = wrap(
            Face::Regular,
            HEADER_SIZE,
            &pdf_font::encode(value),
            TEXT_WIDTH - LABEL_WIDTH,
        );
        for (index, line) in lines.iter().enumerate() {
            self.line(
                Face::Regular,
                HEADER_SIZE,
                MARGIN + LABEL_WIDTH,
                line,
                BLACK,
            );
            if index == 0 {
                let label = pdf_font::encode(label);
                draw_text(
                    &mut self.current,
                    Face::Bold,
                    HEADER_SIZE,
                    MARGIN,
                    self.y,
                    &label,
                    BLACK,
                );
            }
        }
    }

    /// White bold text on a red band, the width of the text column.
    fn banner(&mut self, text: &str) {
        const PADDING: f32 = 6.0;
        let size = 11.0;
        let lines = wrap(
            Face::Bold,
            size,
            &pdf_font::encode(text),
            TEXT_WIDTH - 2.0 * PADDING,
        );
        let height = lines.len() as f32 * leading(size) + 2.0 * PADDING;
        self.reserve(height);
        let top = self.y;
        self.current
            .set_fill_rgb(WARNING_RED.0, WARNING_RED.1, WARNING_RED.2);
        self.current.rect(MARGIN, top - height, TEXT_WIDTH, height);
        self.current.fill_nonzero();
        self.y -= PADDING;
        for line in lines {
            self.y -= leading(size);
            draw_text(
                &mut self.current,
                Face::Bold,
                size,
                MARGIN + PADDING,
                self.y + 2.0,
                &line,
                WHITE,
            );
        }
        self.y = top - height;
    }
}

fn leading(size: f32) -> f32 {
    size * 1.35
}

/// Greedy word wrap of WinAnsi text to `max_width` points; a word wider than a line is split.
fn wrap(face: Face, size: f32, text: &[u8], max_width: f32) -> Vec<Vec<u8>> {
    let fits = |candidate: &[u8]| pdf_font::width(face, candidate, size) <= max_width;
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in text.split(|&b| b == b' ').filter(|word| !word.is_empty()) {
        let mut candidate = line.clone();
        if !candidate.is_empty() {
            candidate.push(b' ');
        }
        candidate.extend_from_slice(word);
        if fits(&candidate) {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for &byte in word {
            line.push(byte);
            if !fits(&line) && line.len() > 1 {
                line.pop();
                lines.push(std::mem::replace(&mut line, vec![byte]));
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_within_the_width() {
        let text = pdf_font::encode(&"consolidation ".repeat(40));
        let lines = wrap(Face::Regular, BODY_SIZE, &text, 200.0);
        assert!(lines.len() > 5);
        for line in &lines {
            assert!(pdf_font::width(Face::Regular, line, BODY_SIZE) <= 200.0);
        }
        let rejoined: Vec<u8> = lines.join(&b' ');
        assert_eq!(rejoined, text.trim_ascii_end());
    }

    #[test]
    fn a_word_longer_than_the_line_is_split() {
        let word = vec![b'W'; 100];
        let lines = wrap(Face::Bold, BODY_SIZE, &word, 100.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), word);
        for line in &lines {
            assert!(pdf_font::width(Face::Bold, line, BODY_SIZE) <= 100.0);
        }
    }
}
