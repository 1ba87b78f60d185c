import type { QuarantineEntry, StoreBatch } from './types.js';

const placeKey = (e: { file: string; entry?: string; line?: number }): string => `${e.file}!${e.entry ?? ''}:${e.line ?? ''}`;

/**
 * The quarantine after a batch: entries of accepted ids or places leave, a new rejection replaces the
 * earlier entry of the same id (or, without an id, the same place). The same array when nothing changes.
 */
export function mergeQuarantine(current: QuarantineEntry[], batch: StoreBatch): QuarantineEntry[] {
  const from = batch.acceptedFrom ?? [];
  if (batch.rejected.length === 0 && batch.accepted.length === 0 && from.length === 0) return current;
  const accepted = new Set(batch.accepted);
  const places = new Set(from.map(placeKey));
  const key = (e: QuarantineEntry): string => e.id ?? placeKey(e);
  const fresh = new Set(batch.rejected.map(key));
  const kept = current.filter((e) => !(e.id && accepted.has(e.id)) && !places.has(placeKey(e)) && !fresh.has(key(e)));
  if (kept.length === current.length && batch.rejected.length === 0) return current;
  return [...kept, ...batch.rejected];
}
