/**
 * Known exports, recognised by their header row and mapped without asking (issue 14): a Mailchimp
 * audience export, a listmonk subscribers export and a plain e-mail/name sheet. Anything else goes
 * to the mapping screen, with the e-mail column guessed where a header says so.
 *
 * Column numbers are 1-based, as PostgreSQL arrays are: the staged row is `fields text[]`.
 */
export type ImportFormat = 'mailchimp' | 'listmonk' | 'plain' | 'other';

export const MAPPED_FIELDS = ['email', 'name', 'first_name', 'last_name', 'postal_address', 'phone', 'date', 'status'] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

export interface TopicColumn {
  topicId: number;
  /** A column whose yes/no says this topic's consent, or every row of the file. */
  column: number | 'all';
}

export type Mapping = Partial<Record<MappedField, number>> & { email: number; topics: TopicColumn[] };

/** Statuses in an export's status column that mean "this person did not (or no longer) consent". */
export const NOT_CONSENTING_STATUSES = ['blocklisted', 'blacklisted', 'unsubscribed', 'cleaned', 'bounced', 'disabled', 'pending'];

const norm = (h: string) =>
  h
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, ' ');

function column(headers: readonly string[], ...names: string[]): number | undefined {
  const wanted = names.map(norm);
  const i = headers.findIndex((h) => wanted.includes(norm(h)));
  return i < 0 ? undefined : i + 1;
}

function defined(m: Record<string, number | undefined>): Partial<Record<MappedField, number>> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as Partial<Record<MappedField, number>>;
}

/** The format a header row says, and its mapping when it is a known one (topics are chosen by staff). */
export function recognise(headers: readonly string[]): { format: ImportFormat; mapping: Mapping | undefined; guess: Partial<Mapping> } {
  const has = (...names: string[]) => column(headers, ...names) !== undefined;
  if (has('Email Address') && (has('MEMBER_RATING') || has('OPTIN_TIME') || has('LEID') || has('EUID'))) {
    const mapping = {
      ...defined({
        first_name: column(headers, 'First Name', 'FNAME'),
        last_name: column(headers, 'Last Name', 'LNAME'),
        postal_address: column(headers, 'Address', 'ADDRESS'),
        phone: column(headers, 'Phone Number', 'PHONE'),
        date: column(headers, 'CONFIRM_TIME') ?? column(headers, 'OPTIN_TIME'),
      }),
      email: column(headers, 'Email Address')!,
      topics: [],
    };
    return { format: 'mailchimp', mapping, guess: mapping };
  }
  if (has('uuid') && has('email') && has('name') && has('attributes') && has('status')) {
    const mapping = {
      ...defined({ name: column(headers, 'name'), status: column(headers, 'status'), date: column(headers, 'created_at') }),
      email: column(headers, 'email')!,
      topics: [],
    };
    return { format: 'listmonk', mapping, guess: mapping };
  }
  const email = column(headers, 'email', 'e-mail', 'email address', 'e-mail address');
  const name = column(headers, 'name', 'full name');
  if (email !== undefined && headers.length <= 2 && (headers.length === 1 || name !== undefined)) {
    const mapping = { ...defined({ name }), email, topics: [] };
    return { format: 'plain', mapping, guess: mapping };
  }
  const guessedEmail = email ?? (headers.findIndex((h) => /e-?mail/i.test(h)) + 1 || undefined);
  return { format: 'other', mapping: undefined, guess: { ...defined({ email: guessedEmail, name }) } };
}

export const FORMAT_NAMES: Record<ImportFormat, string> = {
  mailchimp: 'Mailchimp audience export',
  listmonk: 'listmonk subscribers export',
  plain: 'a plain e-mail and name sheet',
  other: 'a sheet of its own layout',
};

/** "comma" or "semicolon": the one that splits the header line (outside quotes) more often. */
export function sniffDelimiter(firstLine: string): ',' | ';' {
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === ',') commas++;
    else if (!quoted && ch === ';') semicolons++;
  }
  return semicolons > commas ? ';' : ',';
}
