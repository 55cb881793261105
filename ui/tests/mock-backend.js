// In-page stand-in for the Tauri shell, loaded before the app by tests/harness.mjs: answers the
// IPC contract's commands through @tauri-apps/api's mockIPC from a small in-memory store, emits
// the draft events, and records every call in window.__mock.calls for the tests to inspect.
// window.__scenario (set by the test before the page loads) can make chosen commands fail and
// replace fields of the image header.
import { mockConvertFileSrc, mockIPC, mockWindows } from '/@tauri/mocks.js';

const scenario = window.__scenario ?? {};
const encoder = new TextEncoder();
const bytes = (s) => encoder.encode(s).length;
const now = () => '2026-11-27T09:00:00Z';

function study(id, name, date, view, indication) {
  return {
    id,
    study_uid: `1.2.826.0.1.3680043.8.498.${id}`,
    patient_name: name,
    patient_id: `PID${id}`,
    birth_date: '19600101',
    sex: 'F',
    study_date: date,
    accession: `ACC${id}`,
    description: 'CHEST PA',
    view_position: view,
    indication,
    created_at: now(),
  };
}

/** Sentences as model-written spans with byte offsets, one span per sentence. */
function aiSpans(sentences, lowConfidence = []) {
  const spans = [];
  let offset = 0;
  sentences.forEach((sentence, i) => {
    const start = offset + (i > 0 ? 1 : 0);
    const end = start + bytes(sentence);
    spans.push({ start, end, origin: 'ai', mean_logprob: lowConfidence.includes(i) ? -1.7 : -0.2, low_confidence: lowConfidence.includes(i) });
    offset = end;
  });
  return spans;
}

// The model's draft: the first findings sentence carries a non-ASCII dash (byte offsets ≠ indices);
// the third is low confidence.
const DRAFT_FINDINGS = ['Cardiomediastinal silhouette – normal.', 'No pleural effusion.', 'Possible nodule in the right upper lobe.'];
const DRAFT_IMPRESSION = ['No acute cardiopulmonary process.'];

function draftVersion(number, draftId) {
  return {
    id: 100 + number,
    number,
    draft_id: draftId,
    findings: DRAFT_FINDINGS.join(' '),
    impression: DRAFT_IMPRESSION.join(' '),
    provenance: { findings: aiSpans(DRAFT_FINDINGS, [2]), impression: aiSpans(DRAFT_IMPRESSION) },
    author: 'model:demo',
    created_at: now(),
  };
}

const store = {
  studies: [
    { study: study(1, 'DOE^JANE', '20260102', 'PA', 'Cough for two weeks'), status: 'new' },
    { study: study(2, 'ADAMS^BOB', '20251215', 'AP', null), status: 'draft_ready' },
    { study: study(3, 'ZHANG^WEI', '20260310', 'PA', null), status: 'signed' },
  ],
  versions: { 1: [], 2: [draftVersion(1, 7)], 3: [{ ...draftVersion(1, 8), provenance: { findings: [], impression: [] } }] },
  signoff: { 3: { signer: 'Dr Old', signed_at: now(), report_version_id: 101, content_sha256: 'ab'.repeat(32) } },
  addenda: { 1: [], 2: [], 3: [] },
  settings: { radgraph_model_dir: '/models/radgraph', device: 'cpu', threads: null, db: '/data/raddraft.db', default_model: 'demo', user_name: 'Dr Tester' },
  nextJob: 1,
  jobs: {},
};

const calls = [];

function fail(kind, message) {
  return Promise.reject({ kind, message });
}

function studyDetail(id) {
  const entry = store.studies.find((s) => s.study.id === id);
  if (!entry) return fail('not_found', `no study with id ${id}`);
  return {
    study: entry.study,
    status: entry.status,
    images: [{ id: id * 10, study_id: id, sop_instance_uid: `1.2.3.${id}`, path: `/data/${id}.dcm`, sha256: '00', modality: 'DX', rows: 64, columns: 256, created_at: now() }],
    signoff: store.signoff[id] ?? null,
    versions: store.versions[id],
    addenda: store.addenda[id],
    drafts: store.versions[id].filter((v) => v.draft_id !== null).map((v) => ({ id: v.draft_id, model_name: 'demo', status: 'completed', created_at: now() })),
  };
}

/** Provenance after an edit, computed independently of the UI: a span keeps its origin only if
 * its exact text still occurs in the new section; everything else is human. */
function provenanceAfterEdit(oldText, oldSpans, newText) {
  const spans = [];
  for (const span of oldSpans) {
    const sentence = new TextDecoder().decode(encoder.encode(oldText).slice(span.start, span.end));
    const at = newText.indexOf(sentence);
    if (at < 0) continue;
    const start = bytes(newText.slice(0, at));
    spans.push({ ...span, start, end: start + bytes(sentence) });
  }
  spans.sort((a, b) => a.start - b.start);
  const tiled = [];
  let cursor = 0;
  for (const span of spans) {
    if (span.start > cursor) tiled.push({ start: cursor, end: span.start, origin: 'human', low_confidence: false });
    tiled.push(span);
    cursor = span.end;
  }
  if (cursor < bytes(newText)) tiled.push({ start: cursor, end: bytes(newText), origin: 'human', low_confidence: false });
  return tiled;
}

function latest(id) {
  const list = store.versions[id];
  return list[list.length - 1];
}

function addVersion(id, findings, impression, provenance, author, draftId = null) {
  const list = store.versions[id];
  const version = { id: 200 + calls.length, number: list.length + 1, draft_id: draftId, findings, impression, provenance, author, created_at: now() };
  list.push(version);
  const entry = store.studies.find((s) => s.study.id === id);
  if (entry && entry.status !== 'signed') entry.status = 'draft_ready';
  return version;
}

function emit(event, payload) {
  return window.__TAURI_INTERNALS__.invoke('plugin:event|emit', { event, payload });
}

/** The pipeline's timings of a finished mock draft (the shell sends DraftTimings). */
const TIMINGS = { preprocess_s: 0.1, prefill_s: 1.2, decode_s: 2.0, decode_ms_per_token: 80, time_to_first_token_s: 1.4, tokens_per_s: 12.5, total_s: 3.4 };

function runDraft(job, studyId, maxNewTokens) {
  const text = `FINDINGS: ${DRAFT_FINDINGS.join(' ')} IMPRESSION: ${DRAFT_IMPRESSION.join(' ')}`;
  const pieces = text.split(/(?<= )/);
  let index = 0;
  emit('draft://started', { job, study: studyId });
  const tick = () => {
    if (store.jobs[job] === 'cancelled') {
      emit('draft://finished', { job, study: studyId, status: 'cancelled', version: latest(studyId), timings: TIMINGS });
      return;
    }
    if (index < pieces.length) {
      emit('draft://token', { job, study: studyId, index, text: pieces.slice(0, index + 1).join(''), logprob: -0.3, max_new_tokens: maxNewTokens });
      index++;
      setTimeout(tick, scenario.tokenDelayMs ?? 20);
      return;
    }
    const version = { ...draftVersion(store.versions[studyId].length + 1, 50 + job) };
    addVersion(studyId, version.findings, version.impression, version.provenance, version.author, version.draft_id);
    emit('draft://finished', { job, study: studyId, status: 'completed', version: latest(studyId), timings: TIMINGS });
  };
  setTimeout(tick, 30);
}

const RADGRAPH_TEXT = 'No pleural effusion . Possible nodule in the right upper lobe .';

const handlers = {
  app_info: () => ({ version: '0.1.0-test', db: store.settings.db, demo_model_dir: null }),
  list_studies: () =>
    store.studies.map((s) => ({ ...s, image_count: 1, draft_count: store.versions[s.study.id].length })),
  import_paths: ({ paths }) => {
    const problems = paths.filter((p) => !p.endsWith('.dcm')).map((p) => `${p}: not a DICOM file (no "DICM" at byte 128)`);
    return { added: paths.length - problems.length, present: 0, problems };
  },
  study_detail: ({ study }) => studyDetail(study),
  // scenario.header replaces fields of this header (windows, voi_function, voi_luts …).
  image_header: () => ({
    rows: 64,
    columns: 256,
    bits_stored: 12,
    photometric: 'MONOCHROME2',
    windows: [
      { center: 2048, width: 4096, explanation: 'FULL' },
      { center: 1500, width: 1000, explanation: 'NARROW' },
    ],
    voi_function: 'LINEAR',
    voi_lut: false,
    voi_luts: [],
    tags: [
      { tag: '(0008,0060)', name: 'Modality', vr: 'CS', value: 'DX' },
      { tag: '(0010,0010)', name: 'PatientName', vr: 'PN', value: 'DOE^JANE' },
      { tag: '(0028,1050)', name: 'WindowCenter', vr: 'DS', value: '2048\\1500' },
    ],
    ...scenario.header,
  }),
  list_models: () => [{ name: 'demo', directory: '/models/demo', image_size: 224, demo_warning: 'Demo checkpoint: random weights, not a real model.', weights_sha256: 'cd'.repeat(32) }],
  add_model: ({ dir, name }) => ({ name: name ?? 'added', directory: dir, image_size: 448, demo_warning: null, weights_sha256: 'ef'.repeat(32) }),
  start_draft: ({ study, options }) => {
    const job = store.nextJob++;
    store.jobs[job] = 'running';
    const entry = store.studies.find((s) => s.study.id === study);
    if (entry) entry.status = 'drafting';
    runDraft(job, study, options.maxNewTokens);
    return { job };
  },
  cancel_draft: ({ job }) => {
    store.jobs[job] = 'cancelled';
    return null;
  },
  save_edit: ({ study, findings, impression, author }) => {
    if (store.signoff[study]) return fail('signed', 'the report is signed; add an addendum instead');
    const previous = latest(study);
    const provenance = previous
      ? {
          findings: provenanceAfterEdit(previous.findings, previous.provenance.findings, findings),
          impression: provenanceAfterEdit(previous.impression, previous.provenance.impression, impression),
        }
      : { findings: provenanceAfterEdit('', [], findings), impression: provenanceAfterEdit('', [], impression) };
    return addVersion(study, findings, impression, provenance, author);
  },
  accept_ai: ({ study, author }) => {
    const previous = latest(study);
    const accept = (spans) => spans.map((s) => (s.origin === 'ai' ? { ...s, origin: 'accepted' } : s));
    return addVersion(study, previous.findings, previous.impression, { findings: accept(previous.provenance.findings), impression: accept(previous.provenance.impression) }, author);
  },
  sign: ({ study, signer, acceptRemaining }) => {
    const version = latest(study);
    const unreviewed = [...version.provenance.findings, ...version.provenance.impression].some((s) => s.origin === 'ai');
    if (unreviewed && !acceptRemaining) {
      return fail('unreviewed_ai_text', 'report has AI-generated text nobody reviewed; accept or edit it, or sign with accept_remaining');
    }
    store.signoff[study] = { signer, signed_at: now(), report_version_id: version.id, content_sha256: '12'.repeat(32) };
    store.studies.find((s) => s.study.id === study).status = 'signed';
    return store.signoff[study];
  },
  add_addendum: ({ study, text, author }) => {
    const addendum = { id: store.addenda[study].length + 1, text, author, created_at: now() };
    store.addenda[study].push(addendum);
    return addendum;
  },
  export_report: () => null,
  radgraph_annotate: () => ({
    available: true,
    text: RADGRAPH_TEXT,
    entities: [
      { tokens: 'pleural', label: 'ANAT-DP', start_ix: 1, end_ix: 1, relations: [] },
      { tokens: 'effusion', label: 'OBS-DA', start_ix: 2, end_ix: 2, relations: [['located_at', '1']] },
      { tokens: 'nodule', label: 'OBS-U', start_ix: 5, end_ix: 5, relations: [['located_at', '4']] },
      { tokens: 'right upper lobe', label: 'ANAT-DP', start_ix: 8, end_ix: 10, relations: [] },
    ],
  }),
  radgraph_score: () => ({ rg_e: 0.5, rg_er: 0.4, rg_er_bar: 0.25, radgraph_f1: 0.45, matched: ['effusion (OBS-DA)'], missed: ['cardiomegaly (OBS-DP)'], extra: ['nodule (OBS-U)'] }),
  audit_log: () => [{ seq: 1, at: now(), actor: 'Dr Tester', action: 'import', study_uid: '1.2.3', details: { files: 1 } }],
  audit_verify: () => ({ intact: true, entries_checked: 1, first_break: null }),
  get_settings: () => store.settings,
  set_settings: ({ settings }) => (store.settings = settings),
};

mockWindows('main');
mockConvertFileSrc('windows');
mockIPC(
  (cmd, args) => {
    calls.push({ cmd, args: JSON.parse(JSON.stringify(args ?? {})) });
    const failure = scenario.fail?.[cmd];
    if (failure) return Promise.reject(failure);
    const handler = handlers[cmd];
    if (!handler) return Promise.reject({ kind: 'unknown_command', message: `command ${cmd} not found` });
    return handler(args ?? {});
  },
  { shouldMockEvents: true },
);

window.__mock = { calls, store, emit };
