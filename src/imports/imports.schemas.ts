import { z } from 'zod';
import { multiLineText, singleLineText } from '../shared/http/text.js';
import { MAPPED_FIELDS, type Mapping, type TopicColumn } from './formats.js';

/** One command per form (DESIGN rule 4): the mapping of an import's columns, and how it applies. */

const columnChoice = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : Number(v)));

/**
 * ImportMapping: each field names a column (1-based) or none; `topic_<id>` is a column, `all`
 * (everyone in the file) or nothing. The columns are checked against the file's header count,
 * the topics against those an import may opt in to (newsletters and announcements, C1).
 */
export function ImportMapping(columnCount: number, topicIds: readonly number[]) {
  const inRange = (v: number | undefined) => v === undefined || (Number.isInteger(v) && v >= 1 && v <= columnCount);
  const pick = columnChoice.refine(inRange, 'Choose one of the file’s columns.');
  return z
    .object({
      email: z
        .string({ message: 'Choose the column that holds the e-mail addresses.' })
        .min(1, 'Choose the column that holds the e-mail addresses.')
        .transform(Number)
        .refine((v) => inRange(v), 'Choose the column that holds the e-mail addresses.'),
      ...Object.fromEntries(MAPPED_FIELDS.filter((f) => f !== 'email').map((f) => [f, pick])),
    })
    .catchall(z.unknown())
    .transform((body): Mapping => {
      const topics: TopicColumn[] = [];
      for (const id of topicIds) {
        const v = (body as Record<string, unknown>)[`topic_${id}`];
        if (v === 'all') topics.push({ topicId: id, column: 'all' });
        else if (typeof v === 'string' && v !== '' && inRange(Number(v))) topics.push({ topicId: id, column: Number(v) });
      }
      const mapping: Mapping = { email: body.email, topics };
      for (const f of MAPPED_FIELDS) {
        const v = (body as Record<string, unknown>)[f];
        if (f !== 'email' && typeof v === 'number') mapping[f] = v;
      }
      return mapping;
    });
}

/** ImportStart: evidence named in full, or ask the people on the list (issue 14.3). */
export const ImportStart = z.discriminatedUnion(
  'mode',
  [
    z.object({
      mode: z.literal('evidence'),
      evidence_where: multiLineText({ required: 'Say where and how consent was collected.' })
        .min(1, 'Say where and how consent was collected.')
        .max(500, 'At most 500 characters.'),
      evidence_collected_on: singleLineText({ required: 'Say when consent was collected.' })
        .min(1, 'Say when consent was collected.')
        .max(100, 'At most 100 characters.'),
      evidence_reference: singleLineText({ required: 'Give a reference to the evidence (a file, a folder, a record number).' })
        .min(1, 'Give a reference to the evidence (a file, a folder, a record number).')
        .max(200, 'At most 200 characters.'),
    }),
    z.object({ mode: z.literal('ask') }),
  ],
  { message: 'Choose how consent is handled: evidence held elsewhere, or ask them.' },
);
export type ImportStart = z.infer<typeof ImportStart>;
