import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';

/** Staff two-factor sign-in (C11): RFC 6238 codes, and the TOTP secret kept encrypted at rest. */
export const TOTP_ISSUER = 'Assent';
export const WRONG_TOTP_CODE = 'That code is not right. Enter the current 6-digit code from your app.';

/** A new secret for enrolment, with what the page shows: the QR code as an SVG data: URL and the secret. */
export async function newTotpEnrolment(email: string, secret = generateSecret()): Promise<{ secret: string; qr: string }> {
  const uri = generateURI({ issuer: TOTP_ISSUER, label: email, secret });
  // Loaded here, at an enrolment, not with every process.
  const { default: QRCode } = await import('qrcode');
  const svg = await QRCode.toString(uri, { type: 'svg', margin: 1 });
  return { secret, qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}

/** The RFC 6238 time step a code belongs to, or undefined when it is not a current code. */
export async function totpStep(secret: string, code: string): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  // One step either side allows for clock drift between the server and the phone.
  const result = await verify({ secret, token: code, epochTolerance: 30 }).catch(() => ({ valid: false as const }));
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

// TOTP secrets at rest (C11): AES-256-GCM under a key derived (HKDF-SHA256) from SECRET_KEYS, the
// first key encrypting and every key tried when decrypting, so keys can be rotated. The staff id is
// authenticated data: a ciphertext copied onto another account does not decrypt.
const TOTP_FORMAT = 'v1';
const TOTP_KEY_INFO = 'assent staff totp secret v1';

function totpKey(secretKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'assent-totp', TOTP_KEY_INFO, 32));
}

export function encryptTotpSecret(secret: string, keys: readonly string[], staffId: string): string {
  const [key] = keys;
  if (!key) throw new Error('no secret key to encrypt the TOTP secret with');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', totpKey(key), iv);
  cipher.setAAD(Buffer.from(staffId, 'utf8'));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [TOTP_FORMAT, iv, body, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/** The clear secret, or undefined when no key opens it (a rotated-away key, a tampered value). */
export function decryptTotpSecret(stored: string, keys: readonly string[], staffId: string): string | undefined {
  const [format, iv, body, tag] = stored.split('.');
  if (format !== TOTP_FORMAT || !iv || !body || !tag) return undefined;
  for (const key of keys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', totpKey(key), Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(staffId, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // Not this key: try the next one.
    }
  }
  return undefined;
}
