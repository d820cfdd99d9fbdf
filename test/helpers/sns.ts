import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A stand-in for the SNS side of Amazon SES feedback: our own key and self-signed certificate
 * (made with openssl), served over https from localhost, where the validator is allowed to fetch
 * it (SNS_CERT_HOST_PATTERN in the test's configuration). The test process trusts that certificate
 * for its https requests. Messages are signed as SNS signs them (SignatureVersion 2, SHA256).
 */
export interface FakeSns {
  origin: string;
  certUrl: string;
  confirmations: string[];
  sign(message: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

const NOTIFICATION_KEYS = ['Message', 'MessageId', 'Subject', 'SubscribeURL', 'Timestamp', 'TopicArn', 'Type'];
const SUBSCRIPTION_KEYS = ['Message', 'MessageId', 'Subject', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];

export async function startFakeSns(): Promise<FakeSns> {
  const dir = mkdtempSync(path.join(tmpdir(), 'assent-sns-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const keyPem = readFileSync(key, 'utf8');
  const certPem = readFileSync(cert, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  const confirmations: string[] = [];
  const server = https.createServer({ key: keyPem, cert: certPem }, (req, res) => {
    if (req.url === '/SimpleNotificationService-test.pem')
      return void res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(certPem);
    if (req.url?.startsWith('/confirm')) {
      confirmations.push(req.url);
      return void res.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  const previousCa = https.globalAgent.options.ca;
  https.globalAgent.options.ca = certPem;
  return {
    origin,
    certUrl: `${origin}/SimpleNotificationService-test.pem`,
    confirmations,
    sign(message) {
      const full: Record<string, string> = {
        ...message,
        SignatureVersion: '2',
        SigningCertURL: `${origin}/SimpleNotificationService-test.pem`,
      };
      const keys = full.Type === 'SubscriptionConfirmation' ? SUBSCRIPTION_KEYS : NOTIFICATION_KEYS;
      const signer = createSign('RSA-SHA256');
      for (const k of keys) if (k in full) signer.update(`${k}\n${full[k]}\n`, 'utf8');
      return { ...full, Signature: signer.sign(keyPem, 'base64') };
    },
    close: () =>
      new Promise((resolve) => {
        https.globalAgent.options.ca = previousCa;
        server.close(() => resolve());
      }),
  };
}
