// The app's message line: errors from the shell are shown verbatim, never swallowed.

import { errorText } from '../api';

export interface Message {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

let next = 1;
export const messages: Message[] = $state([]);

export function showError(context: string, error: unknown): void {
  messages.push({ id: next++, kind: 'error', text: `${context}: ${errorText(error)}` });
}

export function showInfo(text: string): void {
  messages.push({ id: next++, kind: 'info', text });
}

export function dismiss(id: number): void {
  const index = messages.findIndex((m) => m.id === id);
  if (index >= 0) messages.splice(index, 1);
}
