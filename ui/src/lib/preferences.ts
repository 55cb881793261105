// Per-user viewer preferences kept in the webview's local storage (they are not report data).

export type WindowButton = 'left' | 'right';

const WINDOW_BUTTON_KEY = 'raddraft.windowButton';

/** Which mouse button drags window/level; left by default (OHIF, Weasis), right as in some readers. */
export function windowButton(): WindowButton {
  try {
    return localStorage.getItem(WINDOW_BUTTON_KEY) === 'right' ? 'right' : 'left';
  } catch {
    return 'left';
  }
}

export function setWindowButton(button: WindowButton): void {
  try {
    localStorage.setItem(WINDOW_BUTTON_KEY, button);
  } catch {
    // Storage disabled: the choice lasts for this session only.
  }
}
