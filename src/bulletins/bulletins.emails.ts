import { randomBytes } from 'node:crypto';
import ejs from 'ejs';
import type { convert } from 'html-to-text';
import { composeEmail, type BuiltEmail, type MailContext, type UnsubscribeLink } from '../mail/email.js';
import { renderEmailTemplates } from '../mail/render.js';
import { onFirstUse } from '../shared/lazy.js';
import { renderMarkdown } from '../shared/markdown.js';
import { formatDay } from '../shared/time.js';

/**
 * A bulletin as e-mail: pure builders, time passed in. The body is Markdown through the shared
 * sanitised renderer (no raw HTML, no script, no tracking; images become links), and Assent
 * tracks no opens, for itself or anyone (no pixel, no redirected links: every link goes where
 * the editor wrote it).
 */

const htmlToText = onFirstUse<{ convert: typeof convert }>('html-to-text');

export interface RenderedBody {
  html: string;
  text: string;
}

/** The body, once per bulletin: sanitised HTML, and plain text made from that same HTML. */
export function renderBulletinBody(source: string): RenderedBody {
  const html = renderMarkdown(source);
  const text = htmlToText().convert(html, {
    wordwrap: 76,
    selectors: [
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
      { selector: 'h1', options: { uppercase: false } },
      { selector: 'h2', options: { uppercase: false } },
      { selector: 'h3', options: { uppercase: false } },
      { selector: 'h4', options: { uppercase: false } },
      { selector: 'table', format: 'dataTable' },
    ],
  });
  return { html, text };
}

export interface BulletinParts {
  bulletinId: number;
  subject: string;
  preheader: string;
  topic: { id: number; name: string; slug: string };
  body: RenderedBody;
  /** The public web version, when the bulletin has one. */
  webUrl: string | null;
  orgAddress: string;
}

export interface BulletinRecipient {
  memberId: string;
  email: string;
  name: string | null;
  /** When the member opted in to the topic (their consent's time). */
  chosenAt: Date;
}

export interface BulletinLinks {
  unsubscribe: UnsubscribeLink;
  manage: string;
}

/**
 * RFC 2919 List-Id, on one line like the other list headers: the topic's name as the phrase
 * (an encoded word when it is not plain ASCII) and its slug under the site's host as the id.
 */
export function listIdHeader(topic: { name: string; slug: string }, host: string): string {
  const name = topic.name.replace(/["\\]/g, '');
  const phrase = /^[\x20-\x7e]*$/.test(name) ? `"${name}"` : `=?UTF-8?B?${Buffer.from(name).toString('base64')}?=`;
  return `${phrase} <${topic.slug}.${host}>`;
}

/** One Message-ID per bulletin and member, whatever restarts: a message can be recognised again. */
export function bulletinMessageId(bulletinId: number, memberId: string, host: string): string {
  return `<bulletin-${bulletinId}.${memberId}@${host}>`;
}

function render(ctx: MailContext, b: BulletinParts, r: { name: string | null; chosenAt: Date }, links: BulletinLinks, test: boolean) {
  return renderEmailTemplates('bulletin', { ctx, b, subject: b.subject, ...copyValues(ctx, r, links), test });
}

/**
 * C4: one member's copy. Non-transactional: the footer says why they get it and carries their
 * unsubscribe link for this topic only and their manage link; the headers carry the one-click
 * unsubscribe (RFC 8058) and the list's id. The topic is on the message, so the worker checks the
 * member is still opted in just before sending (C3).
 */
export function bulletinEmail(ctx: MailContext, b: BulletinParts, r: BulletinRecipient, links: BulletinLinks): BuiltEmail {
  return memberCopy(ctx, b, r, links, render(ctx, b, r, links, false), listIdHeader(b.topic, new URL(ctx.baseUrl).hostname));
}

/** A member's copy around its rendered parts: the one-click unsubscribe headers and the list's id. */
function memberCopy(
  ctx: MailContext,
  b: BulletinParts,
  r: BulletinRecipient,
  links: BulletinLinks,
  parts: { html: string; text: string },
  listId: string,
): BuiltEmail {
  const email = composeEmail(
    { kind: 'bulletin', to: r.email, memberId: r.memberId, topicId: b.topic.id, subject: b.subject, ...parts },
    ctx,
    { transactional: false, unsubscribe: links.unsubscribe },
  );
  return { ...email, headers: { ...email.headers, 'List-Id': listId } };
}

/** What differs between two members' copies of a bulletin, in the order the markers are numbered. */
const MERGED = ['greeting', 'chosenOn', 'unsubscribeUrl', 'manageUrl'] as const;
type MergedValues = Record<(typeof MERGED)[number], string>;

/** Marks where a member's value goes: a word joiner, a nonce of this process, the value's number. No content holds it. */
const MARK_NONCE = randomBytes(9).toString('base64url');
const mark = (i: number) => `\u2060${MARK_NONCE}${i}\u2060`;
const MARKS = new RegExp(`\u2060${MARK_NONCE}(\\d)\u2060`);

/** A rendered part cut at its markers: the text between them, and the number of the value after each piece. */
interface MergeTemplate {
  pieces: string[];
  slots: number[];
}

function cut(rendered: string): MergeTemplate {
  const split = rendered.split(MARKS);
  return { pieces: split.filter((_, i) => i % 2 === 0), slots: split.filter((_, i) => i % 2 === 1).map(Number) };
}

function fill(t: MergeTemplate, values: readonly string[]): string {
  let out = t.pieces[0]!;
  for (let i = 0; i < t.slots.length; i++) out += values[t.slots[i]!]! + t.pieces[i + 1]!;
  return out;
}

function copyValues(ctx: MailContext, r: { name: string | null; chosenAt: Date }, links: BulletinLinks): MergedValues {
  return {
    greeting: `Dear ${r.name ?? 'member'},`,
    chosenOn: formatDay(r.chosenAt, ctx.timeZone),
    unsubscribeUrl: links.unsubscribe.url,
    manageUrl: links.manage,
  };
}

/**
 * Mail merge: the copies of one bulletin for many members, each exactly what bulletinEmail builds
 * for that member, without running the templates once per member. The templates are rendered once
 * with a marker in place of each member's value (greeting, date of choice, unsubscribe and manage
 * links); each copy is those pieces with the member's values put back, escaped for the HTML part
 * as the template escapes them (test/unit/bulletin-copies.test.ts holds the two builders equal).
 */
export function bulletinCopies(ctx: MailContext, b: BulletinParts): (r: BulletinRecipient, links: BulletinLinks) => BuiltEmail {
  const marked = renderEmailTemplates('bulletin', {
    ctx,
    b,
    subject: b.subject,
    ...Object.fromEntries(MERGED.map((k, i) => [k, mark(i)])),
    test: false,
  });
  const html = cut(marked.html);
  const text = cut(marked.text);
  // A template that transformed a value instead of printing it would lose its marker: never silently.
  for (const t of [html, text])
    if (!MERGED.every((_, i) => t.slots.includes(i))) throw new Error('the bulletin templates lost a merge marker');
  const listId = listIdHeader(b.topic, new URL(ctx.baseUrl).hostname);
  return (r, links) => {
    const byName = copyValues(ctx, r, links);
    const values = MERGED.map((k) => byName[k]);
    const parts = {
      html: fill(
        html,
        values.map((v) => ejs.escapeXML(v)),
      ),
      text: fill(text, values),
    };
    return memberCopy(ctx, b, r, links, parts, listId);
  };
}

/** The sample member of previews and tests: nobody's data. */
export const SAMPLE_MEMBER = { name: 'Alex Example' };

/** The links of a preview or test: pages that say what the member's own link does, and change nothing. */
export function sampleLinks(ctx: MailContext): BulletinLinks {
  return {
    unsubscribe: { url: `${ctx.baseUrl}/bulletin-preview/unsubscribe`, token: 'sample' },
    manage: `${ctx.baseUrl}/bulletin-preview/preferences`,
  };
}

/** What a member gets, for the preview page: the sample member's copy, as of `now`. */
export function bulletinPreview(
  ctx: MailContext,
  b: BulletinParts,
  now: Date,
): { html: string; text: string; headers: Record<string, string> } {
  const email = bulletinEmail(
    ctx,
    b,
    { memberId: 'sample', email: 'alex@example.org', name: SAMPLE_MEMBER.name, chosenAt: now },
    sampleLinks(ctx),
  );
  return { html: email.html, text: email.text, headers: email.headers };
}

/**
 * "Send me a test": the sample member's copy to the editor's own address, marked as a test in the
 * subject and at the top. It goes to no member and no topic's audience, so it carries no
 * one-click header (there is nobody to unsubscribe) and no topic for the consent check.
 */
export function bulletinTestEmail(ctx: MailContext, b: BulletinParts, to: string, now: Date): BuiltEmail {
  const { html, text } = render(ctx, b, { name: SAMPLE_MEMBER.name, chosenAt: now }, sampleLinks(ctx), true);
  return composeEmail({ kind: 'bulletin_test', to, memberId: null, subject: `[Test] ${b.subject}`, html, text }, ctx, {
    transactional: true,
  });
}
