import type MarkdownIt from 'markdown-it';
import type sanitizeHtml from 'sanitize-html';
import { onFirstUse } from './lazy.js';

/**
 * The one Markdown renderer for text that staff write and members read (bulletins, the privacy
 * statement). Raw HTML is off in the parser and the result is sanitised to a short list of tags
 * anyway, so a text can carry no script, no style, no event handler and no tracking. Images are
 * shown as links: a remote image tells its host when the text is read, and Assent tracks nobody.
 */
type Parser = InstanceType<typeof MarkdownIt>;
// Both loaded by the first text rendered, not with the process (./lazy.ts).
const markdownIt = onFirstUse<typeof MarkdownIt>('markdown-it');
const sanitizer = onFirstUse<typeof sanitizeHtml>('sanitize-html');
let parsers: { plain: Parser; breaks: Parser } | undefined;

function parser(breaks: boolean): Parser {
  if (!parsers) {
    const MarkdownParser = markdownIt();
    parsers = {
      plain: new MarkdownParser({ html: false, linkify: true, typographer: true }),
      // Texts written before Markdown (a heading on its own line, then its paragraph) keep their lines.
      breaks: new MarkdownParser({ html: false, linkify: true, typographer: true, breaks: true }),
    };
  }
  return breaks ? parsers.breaks : parsers.plain;
}

const TAGS = ['p', 'br', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'strong', 'em', 'code', 'pre', 'blockquote', 'hr', 'a'];
const TABLE_TAGS = ['table', 'thead', 'tbody', 'tr', 'th', 'td', 's'];

function sanitiseOptions(topHeading: number): sanitizeHtml.IOptions {
  const transformTags: sanitizeHtml.IOptions['transformTags'] = {
    img: (_tag, attribs) => ({ tagName: 'a', attribs: { href: attribs.src ?? '' }, text: attribs.alt || attribs.src || '' }),
  };
  // On a page whose own <h1> is the title, the text's headings start lower.
  for (let level = 1; level < topHeading; level++) transformTags[`h${level}`] = `h${topHeading}`;
  return {
    allowedTags: [...TAGS, ...TABLE_TAGS],
    allowedAttributes: { a: ['href', 'title'], ol: ['start'] },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowProtocolRelative: false,
    transformTags,
  };
}

const OPTIONS = new Map<number, sanitizeHtml.IOptions>();

export interface MarkdownOptions {
  /** A single line break is kept as a line break (texts written as plain lines). */
  breaks?: boolean;
  /** The highest heading level the text may use: 2 turns "# Title" into an h2 (and leaves "## Part" an h2). */
  topHeading?: number;
}

/** Markdown to sanitised HTML, safe to print unescaped. */
export function renderMarkdown(source: string, opts: MarkdownOptions = {}): string {
  const top = opts.topHeading ?? 1;
  let options = OPTIONS.get(top);
  if (!options) OPTIONS.set(top, (options = sanitiseOptions(top)));
  return sanitizer()(parser(opts.breaks ?? false).render(source), options);
}
