import addressparser from 'nodemailer/lib/addressparser';
import { INLINE_LOGO_TYPES, LOGO_CID } from './email.js';

/**
 * What the send task needs of the branding (issue 13.11), read when each message goes: the
 * sender name for the From header and the logo bytes for the inline image. Given by deps.ts (the
 * branding cache answers from memory), so mail/ imports no feature.
 */
export interface SenderBrand {
  senderName: string | null;
  logo: { bytes: Buffer; type: string } | null;
}
export interface BrandSource {
  current(): SenderBrand;
}

export interface FromHeader {
  name: string;
  address: string;
}

/**
 * The From header: the branding's sender name as the display name, with the configured address
 * (MAIL_FROM's address; its own name when no sender name is set). The name is reduced to one line
 * of printable characters, so it cannot add a header; nodemailer quotes or encodes it.
 */
export function fromHeader(mailFrom: string, senderName: string | null): FromHeader | string {
  const configured = addressparser(mailFrom)[0];
  const address = configured && 'address' in configured ? configured.address : undefined;
  const name = (senderName ?? '')
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!address || !name) return mailFrom;
  return { name, address };
}

export interface InlineAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
  cid: string;
  contentDisposition: 'inline';
}

/**
 * The HTML and its inline logo. The HTML was built with the branding of its time; if the logo has
 * since been removed (or replaced by an SVG), its image is left out rather than shown broken.
 */
export function withInlineLogo(html: string, brand: SenderBrand): { html: string; attachments: InlineAttachment[] } {
  const logo = brand.logo;
  if (!html.includes(`cid:${LOGO_CID}`)) return { html, attachments: [] };
  if (!logo || !INLINE_LOGO_TYPES.includes(logo.type)) return { html: html.replace(LOGO_IMG, ''), attachments: [] };
  const attachment: InlineAttachment = {
    filename: logo.type === 'image/png' ? 'logo.png' : 'logo.jpg',
    content: logo.bytes,
    contentType: logo.type,
    cid: LOGO_CID,
    contentDisposition: 'inline',
  };
  return { html, attachments: [attachment] };
}

const LOGO_IMG = new RegExp(`<img [^>]*src="cid:${LOGO_CID}"[^>]*>`, 'g');

/** The HTML as a preview page shows it: the inline logo as a data: URL, since there is no attachment to point at. */
export function withLogoAsDataUrl(html: string, brand: SenderBrand): string {
  const { html: out, attachments } = withInlineLogo(html, brand);
  const logo = attachments[0];
  return logo ? out.replaceAll(`cid:${LOGO_CID}`, `data:${logo.contentType};base64,${logo.content.toString('base64')}`) : out;
}
