// The UI side of the src-tauri ⇄ ui IPC contract: typed command wrappers, event listeners and
// the 16-bit image fetch through the `raddraft://` custom URI scheme. Every call into the shell
// goes through this module; nothing else imports `@tauri-apps/api`.
// 
// Contract amendments made from the UI side (also listed in the shell's contract notes):
// - `radgraph_annotate` also returns `text`: the annotator's words joined by single spaces
//   (`Graph.text`); `start_ix`/`end_ix` index those words, and a relation's object is the
//   1-based position ("1".."N") of an entity in `entities`. Without `text` the UI falls back to
//   splitting the input on whitespace.
// - File dialogs use `tauri-plugin-dialog` (`plugin:dialog|open`, `plugin:dialog|save`) when the
//   shell registers it; when it does not, the UI falls back to typed paths and drag-and-drop.
// - Drag-and-drop paths arrive through Tauri's own `tauri://drag-drop` event (`{ paths }`).

import { convertFileSrc, invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

export type StudyStatus = 'new' | 'drafting' | 'draft_ready' | 'signed';
export type Origin = 'ai' | 'accepted' | 'human';
export type Dtype = 'f32' | 'bf16' | 'f16';
export type Profile = 'mimic-cxr-jpg' | 'display' | 'raw';
export type ExportFormat = 'txt' | 'md' | 'fhir' | 'sr' | 'pdf';

export interface AppInfo {
  version: string;
  db: string;
  demo_model_dir: string | null;
}

export interface Study {
  id: number;
  study_uid: string;
  patient_name: string;
  patient_id: string;
  birth_date: string;
  sex: string;
  study_date: string;
  accession: string;
  description: string;
  view_position: string;
  indication: string | null;
  created_at: string;
}

export interface StudySummary {
  study: Study;
  image_count: number;
  draft_count: number;
  status: StudyStatus;
}

export interface ImportResult {
  added: number;
  present: number;
  problems: string[];
}

export interface Image {
  id: number;
  study_id: number;
  sop_instance_uid: string;
  path: string;
  sha256: string;
  modality: string;
  rows: number;
  columns: number;
  created_at: string;
}

/** A byte range `[start, end)` of a section's UTF-8 text. */
export interface Span {
  start: number;
  end: number;
  origin: Origin;
  mean_logprob?: number;
  low_confidence: boolean;
}

export interface Provenance {
  findings: Span[];
  impression: Span[];
}

export interface ReportVersion {
  id: number;
  number: number;
  draft_id: number | null;
  findings: string;
  impression: string;
  provenance: Provenance;
  author: string;
  created_at: string;
}

export interface SignOff {
  signer: string;
  signed_at: string;
  report_version_id: number;
  content_sha256: string;
}

export interface Addendum {
  id: number;
  text: string;
  author: string;
  created_at: string;
}

export interface DraftSummary {
  id: number;
  model_name: string;
  status: string;
  created_at: string;
}

export interface StudyDetail {
  study: Study;
  status: StudyStatus;
  images: Image[];
  signoff: SignOff | null;
  versions: ReportVersion[];
  addenda: Addendum[];
  drafts: DraftSummary[];
}

export interface WindowPreset {
  center: number;
  width: number;
  explanation: string | null;
}

/** One VOI LUT Sequence item: input `first_mapped + i` (a modality value) maps to `entries[i]`,
 * out of 2^bits − 1; inputs beyond either end take the end entry. */
export interface VoiLutPreset {
  explanation: string | null;
  first_mapped: number;
  bits: number;
  /** 1 to 65,536 entries. */
  entries: number[];
}

export interface TagRow {
  tag: string;
  name: string;
  vr: string;
  value: string;
}

export interface ImageHeader {
  rows: number;
  columns: number;
  bits_stored: number;
  photometric: string;
  windows: WindowPreset[];
  /** VOI LUT Function (0028,1056) of the windows. */
  voi_function: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  /** A VOI LUT Sequence is present (even if none of its items is usable). */
  voi_lut: boolean;
  /** The usable VOI LUT Sequence items, in order. */
  voi_luts: VoiLutPreset[];
  tags: TagRow[];
}

export interface ModelInfo {
  name: string;
  directory: string;
  image_size: number | null;
  demo_warning: string | null;
  weights_sha256: string;
}

export interface DraftOptions {
  model: string;
  indication: string | null;
  maxNewTokens: number;
  dtype: Dtype;
  profile: Profile;
}

export interface RadGraphEntity {
  tokens: string;
  label: string;
  start_ix: number;
  end_ix: number;
  relations: [string, string][];
}

export interface RadGraphAnnotation {
  entities: RadGraphEntity[];
  available: boolean;
  /** Amendment (ui): the annotator's words joined by single spaces. */
  text?: string;
}

export interface RadGraphScore {
  rg_e: number;
  rg_er: number;
  rg_er_bar: number;
  radgraph_f1: number;
  matched: string[];
  missed: string[];
  extra: string[];
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  study_uid: string | null;
  details: unknown;
}

export interface AuditVerification {
  intact: boolean;
  entries_checked: number;
  first_break: { seq: number; problem: string } | null;
}

export interface Settings {
  radgraph_model_dir: string | null;
  device: string;
  threads: number | null;
  db: string;
  default_model: string | null;
  user_name: string;
}

/** The shell's serialised error: shown to the user verbatim. */
export interface ShellError {
  kind: string;
  message: string;
}

/** Turns anything a rejected call produced into the one line the user sees. */
export function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    const e = error as Partial<ShellError> & { message?: unknown };
    if (typeof e.message === 'string') return e.kind ? `${e.message} (${e.kind})` : e.message;
  }
  return String(error);
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  return invoke<T>(command, args);
}

export const appInfo = () => call<AppInfo>('app_info');
export const listStudies = () => call<StudySummary[]>('list_studies');
export const importPaths = (paths: string[]) => call<ImportResult>('import_paths', { paths });
export const studyDetail = (study: number) => call<StudyDetail>('study_detail', { study });
export const imageHeader = (image: number) => call<ImageHeader>('image_header', { image });
export const listModels = () => call<ModelInfo[]>('list_models');
export const addModel = (dir: string, name: string | null) =>
  call<ModelInfo>('add_model', { dir, name });
export const startDraft = (study: number, options: DraftOptions) =>
  call<{ job: number }>('start_draft', { study, options });
export const cancelDraft = (job: number) => call<void>('cancel_draft', { job });
export const saveEdit = (study: number, findings: string, impression: string, author: string) =>
  call<ReportVersion>('save_edit', { study, findings, impression, author });
export const acceptAi = (study: number, author: string) =>
  call<ReportVersion>('accept_ai', { study, author });
export const sign = (study: number, signer: string, acceptRemaining: boolean) =>
  call<SignOff>('sign', { study, signer, acceptRemaining });
export const addAddendum = (study: number, text: string, author: string) =>
  call<Addendum>('add_addendum', { study, text, author });
export const exportReport = (study: number, format: ExportFormat, path: string) =>
  call<void>('export_report', { study, format, path });
export const radgraphAnnotate = (text: string) =>
  call<RadGraphAnnotation>('radgraph_annotate', { text });
export const radgraphScore = (hypothesis: string, reference: string) =>
  call<RadGraphScore>('radgraph_score', { hypothesis, reference });
export const auditLog = (study: number | null) => call<AuditEntry[]>('audit_log', { study });
export const auditVerify = () => call<AuditVerification>('audit_verify');
export const getSettings = () => call<Settings>('get_settings');
export const setSettings = (settings: Settings) => call<Settings>('set_settings', { settings });

/** Opens the native file dialog; `null` when cancelled. Throws when the shell has no dialog plugin. */
export async function pickPathsToImport(): Promise<string[] | null> {
  const picked = await call<string | string[] | null>('plugin:dialog|open', {
    options: { multiple: true, directory: false, title: 'Import DICOM files or DICOMDIR' },
  });
  if (picked === null) return null;
  return Array.isArray(picked) ? picked : [picked];
}

/** Opens the native save dialog; `null` when cancelled. Throws when the shell has no dialog plugin. */
export async function pickExportPath(defaultPath: string): Promise<string | null> {
  return call<string | null>('plugin:dialog|save', {
    options: { defaultPath, title: 'Export report' },
  });
}

// ---- events -------------------------------------------------------------------------------

export interface DraftStarted {
  job: number;
  study: number;
}
export interface DraftToken {
  job: number;
  study: number;
  index: number;
  /** The whole text generated so far. */
  text: string;
  logprob: number;
  max_new_tokens: number;
}
/** The drafting pipeline's own timings of one draft. */
export interface DraftTimings {
  preprocess_s: number;
  prefill_s: number;
  decode_s: number;
  decode_ms_per_token: number;
  /** From the start of the draft to its first generated token. */
  time_to_first_token_s: number;
  /** Generated tokens per second after the first; 0 with fewer than two tokens. */
  tokens_per_s: number;
  total_s: number;
}
export interface DraftFinished {
  job: number;
  study: number;
  status: 'completed' | 'cancelled';
  version: ReportVersion;
  timings: DraftTimings;
}
export interface DraftFailed {
  job: number;
  study: number;
  message: string;
}

export interface DraftHandlers {
  started(event: DraftStarted): void;
  token(event: DraftToken): void;
  finished(event: DraftFinished): void;
  failed(event: DraftFailed): void;
}

/** Subscribes to the four draft events; resolves to one function that unsubscribes them all. */
export async function onDraftEvents(handlers: DraftHandlers): Promise<UnlistenFn> {
  const unlisteners = await Promise.all([
    listen<DraftStarted>('draft://started', (e) => handlers.started(e.payload)),
    listen<DraftToken>('draft://token', (e) => handlers.token(e.payload)),
    listen<DraftFinished>('draft://finished', (e) => handlers.finished(e.payload)),
    listen<DraftFailed>('draft://failed', (e) => handlers.failed(e.payload)),
  ]);
  return () => unlisteners.forEach((unlisten) => unlisten());
}

/** Files dropped onto the window (Tauri's native drag-and-drop event carries real paths). */
export function onFileDrop(handler: (paths: string[]) => void): Promise<UnlistenFn> {
  return listen<{ paths?: string[] }>('tauri://drag-drop', (e) => {
    const paths = e.payload?.paths ?? [];
    if (paths.length > 0) handler(paths);
  });
}

// ---- pixels -------------------------------------------------------------------------------

export interface Pixels {
  rows: number;
  columns: number;
  bitsStored: number;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  /** The display inverts the VOI output: MONOCHROME1, or Presentation LUT Shape INVERSE. */
  invertDisplay: boolean;
  /** How a value becomes the modality value that windows and VOI LUTs apply to:
   * `(data[i] - valueOffset) * rescaleSlope + rescaleIntercept`. */
  modality: Modality;
  /** Stored values (plus `modality.valueOffset`), or a Modality LUT Sequence's output, row-major. */
  data: Uint16Array;
}

export interface Modality {
  /** Added to signed stored values to make them non-negative. */
  valueOffset: number;
  rescaleSlope: number;
  rescaleIntercept: number;
}

/** The custom-scheme URL of an image's pixels (`raddraft://localhost/…`, or
 * `http://raddraft.localhost/…` on Windows), built the way Tauri builds asset URLs. */
export function imageUrl(imageId: number): string {
  const base = convertFileSrc('', 'raddraft');
  return `${base.endsWith('/') ? base : `${base}/`}image/${imageId}`;
}

export class ImageFetchError extends Error {}

function headerNumber(response: Response, name: string, url: string): number {
  const raw = response.headers.get(name);
  const value = raw === null ? NaN : Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ImageFetchError(`${url}: header ${name} is ${raw === null ? 'missing' : `"${raw}"`}`);
  }
  return value;
}

/** Fetches an image's 16-bit pixels; the error names what was wrong with the answer. */
export async function fetchPixels(imageId: number): Promise<Pixels> {
  const url = imageUrl(imageId);
  const response = await fetch(url);
  if (!response.ok) {
    const body = await response.text().catch(() => '');
    throw new ImageFetchError(`could not load image ${imageId}: ${response.status} ${body}`.trim());
  }
  const rows = headerNumber(response, 'x-rows', url);
  const columns = headerNumber(response, 'x-columns', url);
  const bitsStored = headerNumber(response, 'x-bits-stored', url);
  const photometricHeader = response.headers.get('x-photometric');
  const photometric = photometricHeader === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2';
  const invertHeader = response.headers.get('x-invert-display');
  const invertDisplay = invertHeader === null ? photometric === 'MONOCHROME1' : invertHeader === '1';
  const offsetHeader = response.headers.get('x-value-offset');
  const valueOffset = offsetHeader === null ? 0 : Number(offsetHeader);
  if (!Number.isInteger(valueOffset) || valueOffset < 0 || valueOffset > 65535) {
    throw new ImageFetchError(`${url}: header x-value-offset is "${offsetHeader}"`);
  }
  const rescale = (name: string, fallback: number) => {
    const raw = response.headers.get(name);
    const value = raw === null ? fallback : Number(raw);
    if (!Number.isFinite(value) || (name === 'x-rescale-slope' && value === 0)) {
      throw new ImageFetchError(`${url}: header ${name} is "${raw}"`);
    }
    return value;
  };
  const modality = {
    valueOffset,
    rescaleSlope: rescale('x-rescale-slope', 1),
    rescaleIntercept: rescale('x-rescale-intercept', 0),
  };
  const buffer = await response.arrayBuffer();
  if (buffer.byteLength !== rows * columns * 2) {
    throw new ImageFetchError(
      `image ${imageId}: ${buffer.byteLength} bytes for ${rows}×${columns} 16-bit pixels (expected ${rows * columns * 2})`,
    );
  }
  // Little-endian on the wire; every platform Tauri runs on is little-endian too.
  return { rows, columns, bitsStored, photometric, invertDisplay, modality, data: new Uint16Array(buffer) };
}
