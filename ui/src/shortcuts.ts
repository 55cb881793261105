// Keyboard shortcuts: one table that both the key handler and the help overlay (`?`) read, and a
// registry through which the visible components bind the actions they can perform.

export interface Shortcut {
  id: string;
  keys: string;
  description: string;
  group: 'General' | 'Worklist' | 'Viewer' | 'Report';
  /** Single keys without modifiers are ignored while typing in a text field. */
  match(event: KeyboardEvent): boolean;
  /** Whether the shortcut also fires while the focus is in a text field. */
  inTextFields?: boolean;
}

const plain = (key: string) => (e: KeyboardEvent) => e.key === key && !e.ctrlKey && !e.metaKey && !e.altKey;
const ctrl = (key: string, shift = false) => (e: KeyboardEvent) =>
  (e.ctrlKey || e.metaKey) && e.shiftKey === shift && e.key.toLowerCase() === key.toLowerCase();
const alt = (key: string) => (e: KeyboardEvent) => e.altKey && !e.ctrlKey && e.key === key;

export const SHORTCUTS: Shortcut[] = [
  { id: 'help', keys: '?', description: 'Show or hide this list', group: 'General', match: plain('?') },
  { id: 'close', keys: 'Esc', description: 'Close the open dialog or overlay', group: 'General', match: plain('Escape'), inTextFields: true },
  { id: 'tab-worklist', keys: 'Alt+1', description: 'Worklist', group: 'General', match: alt('1'), inTextFields: true },
  { id: 'tab-study', keys: 'Alt+2', description: 'Open study (viewer and report)', group: 'General', match: alt('2'), inTextFields: true },
  { id: 'tab-audit', keys: 'Alt+3', description: 'Audit trail', group: 'General', match: alt('3'), inTextFields: true },
  { id: 'tab-settings', keys: 'Alt+4', description: 'Settings', group: 'General', match: alt('4'), inTextFields: true },
  { id: 'search', keys: '/', description: 'Search the worklist', group: 'Worklist', match: plain('/') },
  { id: 'next-study', keys: 'j / ↓', description: 'Next study in the list', group: 'Worklist', match: (e) => plain('j')(e) || plain('ArrowDown')(e) },
  { id: 'previous-study', keys: 'k / ↑', description: 'Previous study in the list', group: 'Worklist', match: (e) => plain('k')(e) || plain('ArrowUp')(e) },
  { id: 'open-study', keys: 'Enter', description: 'Open the selected study', group: 'Worklist', match: plain('Enter') },
  { id: 'import', keys: 'Ctrl+O', description: 'Import files or a folder', group: 'Worklist', match: ctrl('o'), inTextFields: true },
  { id: 'invert', keys: 'i', description: 'Invert', group: 'Viewer', match: plain('i') },
  { id: 'reset', keys: 'Space', description: 'Reset window, zoom and invert', group: 'Viewer', match: plain(' ') },
  { id: 'fit', keys: 'f / =', description: 'Fit to window', group: 'Viewer', match: (e) => plain('f')(e) || plain('=')(e) },
  { id: 'actual-size', keys: 'o', description: '1:1 (one image pixel per screen pixel)', group: 'Viewer', match: plain('o') },
  { id: 'zoom-in', keys: '+', description: 'Zoom in', group: 'Viewer', match: plain('+') },
  { id: 'zoom-out', keys: '-', description: 'Zoom out', group: 'Viewer', match: plain('-') },
  { id: 'pan-left', keys: 'Shift+←', description: 'Pan left', group: 'Viewer', match: (e) => e.shiftKey && e.key === 'ArrowLeft' },
  { id: 'pan-right', keys: 'Shift+→', description: 'Pan right', group: 'Viewer', match: (e) => e.shiftKey && e.key === 'ArrowRight' },
  { id: 'pan-up', keys: 'Shift+↑', description: 'Pan up', group: 'Viewer', match: (e) => e.shiftKey && e.key === 'ArrowUp' },
  { id: 'pan-down', keys: 'Shift+↓', description: 'Pan down', group: 'Viewer', match: (e) => e.shiftKey && e.key === 'ArrowDown' },
  { id: 'preset', keys: '1–9', description: 'Presets: the DICOM header windows, then its VOI LUTs (last: full range)', group: 'Viewer', match: (e) => /^[1-9]$/.test(e.key) && !e.ctrlKey && !e.altKey && !e.metaKey },
  { id: 'tags', keys: 't', description: 'DICOM tag browser', group: 'Viewer', match: plain('t') },
  { id: 'draft', keys: 'Ctrl+Enter', description: 'Draft (or regenerate) with the selected model', group: 'Report', match: ctrl('Enter'), inTextFields: true },
  { id: 'cancel-draft', keys: 'Ctrl+.', description: 'Cancel the running draft', group: 'Report', match: ctrl('.'), inTextFields: true },
  { id: 'save', keys: 'Ctrl+S', description: 'Save the edited report', group: 'Report', match: ctrl('s'), inTextFields: true },
  { id: 'accept', keys: 'Ctrl+Shift+A', description: 'Accept all AI text as reviewed', group: 'Report', match: ctrl('a', true), inTextFields: true },
  { id: 'sign', keys: 'Ctrl+Shift+S', description: 'Sign the report', group: 'Report', match: ctrl('s', true), inTextFields: true },
  { id: 'radgraph', keys: 'g', description: 'RadGraph view of the report', group: 'Report', match: plain('g') },
  { id: 'report', keys: 'r', description: 'Report editor', group: 'Report', match: plain('r') },
];

type Handler = (event: KeyboardEvent) => void;
const handlers = new Map<string, Handler[]>();

/** Binds an action while the calling component is shown; returns the function that unbinds it. */
export function bindShortcut(id: string, handler: Handler): () => void {
  const list = handlers.get(id) ?? [];
  list.push(handler);
  handlers.set(id, list);
  return () => {
    const current = handlers.get(id) ?? [];
    handlers.set(id, current.filter((h) => h !== handler));
  };
}

function inTextField(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** The window's keydown handler: runs the newest binding of the first matching shortcut. */
export function dispatchShortcut(event: KeyboardEvent): void {
  const typing = inTextField(event.target);
  for (const shortcut of SHORTCUTS) {
    if (typing && !shortcut.inTextFields) continue;
    if (!shortcut.match(event)) continue;
    const list = handlers.get(shortcut.id);
    const handler = list?.[list.length - 1];
    if (!handler) continue;
    event.preventDefault();
    handler(event);
    return;
  }
}
