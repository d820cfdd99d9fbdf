import { z } from 'zod';

const NOT_OFFERED = 'One of the choices is not a topic we offer. Please reload the page and try again.';

/** Ticked checkboxes arrive as nothing, one value or many; each must be a topic id. */
export const topicIds = z.preprocess(
  (v) => (v === undefined || v === '' ? [] : Array.isArray(v) ? v : [v]),
  z.array(z.coerce.number({ message: NOT_OFFERED }).int({ message: NOT_OFFERED }).positive({ message: NOT_OFFERED })).max(100, NOT_OFFERED),
);

export const SetPreferences = z.object({
  topics: topicIds,
  action: z.enum(['save', 'unsubscribe_all']).default('save'),
});
