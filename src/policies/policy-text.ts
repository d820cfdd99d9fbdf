import { renderMarkdown } from '../shared/markdown.js';

/**
 * A policy version's text as a page shows it: Markdown through the shared sanitised renderer. A
 * line break is kept, so versions written as plain lines before Markdown read as they did; the
 * text's headings (# or ##) sit under the page's own title, as h2.
 */
export function policyTextHtml(body: string): string {
  return renderMarkdown(body, { breaks: true, topHeading: 2 });
}
