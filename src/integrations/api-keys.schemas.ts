import { z } from 'zod';
import { singleLineText } from '../shared/http/text.js';

/** What a key may do: read members and audiences, record opt-outs, report undeliverable addresses. */
export const API_SCOPES = ['read', 'opt-out', 'suppress'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export const SCOPE_NAMES: Record<ApiScope, string> = {
  read: 'Read topics, members, their history, audiences and changes',
  'opt-out': 'Record opt-outs made in another system',
  suppress: 'Report bounced, complained-of or suppressed addresses',
};

/** One ticked checkbox posts a string, several an array, none nothing. */
const ticked = z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.string()));

// Making an API key (POST /admin/api-keys).
export const ApiKeyForm = z.object({
  name: singleLineText().min(1, 'Give the key a name, such as the system that will use it.').max(100, 'Use at most 100 characters.'),
  scopes: ticked
    .pipe(z.array(z.enum(API_SCOPES, { message: 'Choose among the scopes listed.' })))
    .refine((s) => s.length > 0, 'Choose at least one scope.')
    .transform((s) => API_SCOPES.filter((x) => s.includes(x))),
});
