import { nanoid } from 'nanoid';

/** Lab ids name Docker objects (`sk-lab-<id>`), so they keep to characters Docker names allow. */
export function generateLabId(): string {
  // Re-encoded as one flat string, as the core's session ids are (a concatenation is a V8 rope).
  return Buffer.from(`lab_${nanoid(21)}`, 'latin1').toString('latin1');
}

/** The shape of a lab id, for routes to refuse anything else before a lookup. */
export const LAB_ID_PATTERN = /^lab_[A-Za-z0-9_-]{21}$/;
