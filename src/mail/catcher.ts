import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from '../shared/logger.js';

/**
 * Development mail catcher: an SMTP server on loopback that keeps each message as an .eml file
 * under DATA_DIR/mail, so a separately started worker and the web process see the same mail.
 * Never started in production (config refuses to run there without SMTP_URL).
 */
export interface MailCatcher {
  smtpUrl: string;
  stop(): Promise<void>;
}

export async function startMailCatcher(dir: string, logger: Logger): Promise<MailCatcher> {
  mkdirSync(dir, { recursive: true });
  // Loaded only where the catcher runs (development without SMTP_URL), not with the web app's routes.
  const { SMTPServer } = await import('smtp-server');
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const file = `${Date.now()}-${randomBytes(4).toString('hex')}.eml`;
        writeFileSync(path.join(dir, file), Buffer.concat(chunks));
        logger.info({ event: 'dev_mail.caught', file });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    smtpUrl: `smtp://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface CaughtMail {
  id: string;
  receivedAt: Date;
  from: string;
  to: string;
  subject: string;
  headers: { key: string; value: string }[];
  text: string;
  /** Inline images (cid:) are shown as data: URLs, as a mail program shows its inline attachments. */
  html: string | undefined;
}

/** Replaces each cid: reference to an inline image attachment with a data: URL of it. */
function inlineImages(
  html: string,
  attachments: { contentId?: string; mimeType: string; content: ArrayBuffer | Uint8Array | string }[],
): string {
  let out = html;
  for (const a of attachments) {
    const cid = a.contentId?.replace(/^<|>$/g, '');
    if (!cid || !a.mimeType.startsWith('image/') || typeof a.content === 'string') continue;
    const bytes = a.content instanceof Uint8Array ? Buffer.from(a.content) : Buffer.from(a.content);
    out = out.replaceAll(`cid:${cid}`, `data:${a.mimeType};base64,${bytes.toString('base64')}`);
  }
  return out;
}

export function listCaughtMailIds(dir: string, limit = 100): string[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^\d+-[0-9a-f]{8}\.eml$/.test(f));
  } catch {
    return [];
  }
  return files
    .sort()
    .reverse()
    .slice(0, limit)
    .map((f) => f.slice(0, -4));
}

export async function readCaughtMail(dir: string, id: string): Promise<CaughtMail | undefined> {
  if (!/^\d+-[0-9a-f]{8}$/.test(id)) return undefined;
  let raw: Buffer;
  try {
    raw = readFileSync(path.join(dir, `${id}.eml`));
  } catch {
    return undefined;
  }
  const { default: PostalMime } = await import('postal-mime');
  const parsed = await PostalMime.parse(raw);
  return {
    id,
    receivedAt: new Date(Number(id.split('-')[0])),
    from: parsed.from ? (parsed.from.name ? `${parsed.from.name} <${parsed.from.address ?? ''}>` : (parsed.from.address ?? '')) : '',
    to: (parsed.to ?? []).map((a) => a.address ?? a.name).join(', '),
    subject: parsed.subject ?? '(no subject)',
    headers: parsed.headers.map((h) => ({ key: h.key, value: h.value })),
    text: parsed.text ?? '',
    html: parsed.html === undefined ? undefined : inlineImages(parsed.html, parsed.attachments),
  };
}
