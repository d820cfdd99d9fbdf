import { z } from 'zod';

/**
 * Text from forms and query strings, checked before anything else sees it. PostgreSQL refuses a
 * NUL in text (an unhandled error), and a line break or a Unicode line separator in a one-line
 * value lets whoever typed it lay out text of their own in our mail and pages. So every text field
 * refuses the C0 and C1 controls, DEL, and U+2028/U+2029; a multi-line field keeps its line breaks
 * (normalised to LF, as browsers send CRLF) and, where asked, tabs. The check runs on the value as
 * sent, before trimming, so a control character is refused wherever it stands.
 */

/* eslint-disable no-control-regex -- finding control characters is what these are for */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_BUT_LINE_BREAK = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_BUT_LINE_BREAK_AND_TAB = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
/* eslint-enable no-control-regex */

export const ONE_LINE_MESSAGE = 'Use plain text on one line: line breaks and control characters are not allowed.';
export const MULTI_LINE_MESSAGE = 'Use plain text: control characters are not allowed here (line breaks are).';
export const LINK_IN_NAME_MESSAGE = 'A name cannot contain a web address. Please enter just the name.';

/** True when the text holds a character no one-line field accepts. */
export const hasControlCharacters = (text: string): boolean => CONTROL.test(text);

/** CRLF and lone CR (old Macs) become LF. */
export const normaliseLineBreaks = (text: string): string => text.replace(/\r\n?/g, '\n');

interface TextOptions {
  /** The message when the value is missing or not a string. */
  required?: string;
}

/** A one-line value: controls refused, then trimmed. Chain .min/.max/.regex/.email as usual. */
export function singleLineText(opts: TextOptions = {}): z.ZodString {
  return z
    .string({ message: opts.required })
    .refine((v) => !CONTROL.test(v), ONE_LINE_MESSAGE)
    .trim();
}

/** A secret, such as a new password: controls refused, nothing trimmed (spaces are part of it). */
export function secretText(opts: TextOptions = {}): z.ZodString {
  return z.string({ message: opts.required }).refine((v) => !CONTROL.test(v), ONE_LINE_MESSAGE);
}

/** A textarea: line breaks kept as LF, tabs only when asked, every other control refused; trimmed. */
export function multiLineText(opts: TextOptions & { tabs?: boolean } = {}): z.ZodString {
  const refused = opts.tabs ? CONTROL_BUT_LINE_BREAK_AND_TAB : CONTROL_BUT_LINE_BREAK;
  return z
    .string({ message: opts.required })
    .overwrite(normaliseLineBreaks)
    .refine((v) => !refused.test(v), MULTI_LINE_MESSAGE)
    .trim();
}

/** A person's name: one line, and nothing that mail clients would show as a link. */
export function personName(opts: TextOptions = {}): z.ZodString {
  return singleLineText(opts).refine((v) => !looksLikeLink(v), LINK_IN_NAME_MESSAGE);
}

// Top-level domains that abusers use most and that do not end an ordinary name after a dot
// ("St.John", "J.R.R." and "Mr. Smith" pass); endings that are also common given names or name
// parts after an initial (de, la, ai, win…) are left out on purpose.
const COMMON_TLDS =
  'com|net|org|info|biz|io|co|app|dev|xyz|top|site|online|link|click|shop|store|live|club|icu|buzz|ru|cn|tk|ml|ga|cf|gq|uk|us|eu|ly|gg';
const LABEL = '[\\p{L}\\p{N}-]+';
const SCHEME = /:\/\//;
const WWW = /(^|[^\p{L}\p{N}])www\./iu;
const HOST_WITH_PATH = new RegExp(`${LABEL}(\\.${LABEL})*\\.\\p{L}{2,}/`, 'iu');
const BARE_DOMAIN = new RegExp(`${LABEL}\\.(${COMMON_TLDS})(?![\\p{L}\\p{N}-])`, 'iu');
const IPV4 = /(^|[^\d.])\d{1,3}(\.\d{1,3}){3}(?![\d.])/;

/**
 * Whether a name reads as a web address: a scheme (`://`), `www.`, a host with a path
 * (`evil.example/login`), a bare domain under a common top-level domain (`evil.com`) or an IPv4
 * address. Mail clients turn these into links, so a stranger could make our mail point anywhere.
 */
export function looksLikeLink(name: string): boolean {
  return SCHEME.test(name) || WWW.test(name) || HOST_WITH_PATH.test(name) || BARE_DOMAIN.test(name) || IPV4.test(name);
}

/** An e-mail address as a member or staff user types it. */
export const emailField = singleLineText({ required: 'Enter your e-mail address.' })
  .min(1, 'Enter your e-mail address.')
  .max(254, 'An e-mail address has at most 254 characters.')
  .email('Enter an e-mail address like name@example.org.');

const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** A date and time entered in UTC (an HTML datetime-local value), refused unless it is a real one. */
export function utcDateTime(ask: string, example: string) {
  return singleLineText({ required: `${ask}.` })
    .regex(LOCAL_DATETIME, `${ask}, such as ${example}.`)
    .transform((v, ctx) => {
      const [, y, mo, d, h, mi, s] = LOCAL_DATETIME.exec(v)!;
      const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0)));
      const real =
        date.getUTCFullYear() === Number(y) &&
        date.getUTCMonth() === Number(mo) - 1 &&
        date.getUTCDate() === Number(d) &&
        date.getUTCHours() === Number(h) &&
        date.getUTCMinutes() === Number(mi);
      if (!real) {
        ctx.addIssue({ code: 'custom', message: 'That is not a real date and time.' });
        return z.NEVER;
      }
      return date;
    });
}
