// RadGraph annotations as paintable words: each word of the annotated text with the entity that
// covers it, the entity's colour class and its relations in readable form.

import type { RadGraphAnnotation, RadGraphEntity } from './api';

export type LabelClass = 'anatomy' | 'present' | 'absent' | 'uncertain' | 'other';

/** RadGraph labels: ANAT-DP anatomy; OBS-DP present, OBS-DA absent, OBS-U uncertain. */
export function labelClass(label: string): LabelClass {
  const upper = label.toUpperCase();
  if (upper.startsWith('ANAT')) return 'anatomy';
  if (upper === 'OBS-DP') return 'present';
  if (upper === 'OBS-DA') return 'absent';
  if (upper === 'OBS-U') return 'uncertain';
  return 'other';
}

export const LABEL_NAMES: Record<LabelClass, string> = {
  anatomy: 'Anatomy',
  present: 'Observation: present',
  absent: 'Observation: absent',
  uncertain: 'Observation: uncertain',
  other: 'Other',
};

export interface Word {
  text: string;
  /** 1-based entity key ("1".."N") covering this word, if any. */
  entityKey: string | null;
  entity: RadGraphEntity | null;
  first: boolean;
}

export function words(annotation: RadGraphAnnotation, sourceText: string): Word[] {
  const text = annotation.text ?? sourceText;
  const tokens = text.split(/\s+/).filter((t) => t.length > 0);
  const owner: (number | null)[] = tokens.map(() => null);
  annotation.entities.forEach((entity, index) => {
    for (let i = entity.start_ix; i <= entity.end_ix && i < tokens.length; i++) {
      if (i >= 0 && owner[i] === null) owner[i] = index;
    }
  });
  return tokens.map((token, i) => {
    const index = owner[i];
    const entity = index === null ? null : annotation.entities[index];
    return {
      text: token,
      entityKey: index === null ? null : String(index + 1),
      entity,
      first: entity !== null && entity.start_ix === i,
    };
  });
}

/** "located_at → lung" lines for an entity's relations (objects looked up by key). */
export function describeRelations(annotation: RadGraphAnnotation, entity: RadGraphEntity): string[] {
  return entity.relations.map(([relation, object]) => {
    const target = annotation.entities[Number(object) - 1];
    return `${relation} → ${target ? `${target.tokens} (${target.label})` : `entity ${object}`}`;
  });
}

/** Entity keys related to `key` in either direction (for hover highlighting). */
export function relatedKeys(annotation: RadGraphAnnotation, key: string): Set<string> {
  const related = new Set<string>();
  const entity = annotation.entities[Number(key) - 1];
  entity?.relations.forEach(([, object]) => related.add(object));
  annotation.entities.forEach((other, index) => {
    if (other.relations.some(([, object]) => object === key)) related.add(String(index + 1));
  });
  return related;
}
