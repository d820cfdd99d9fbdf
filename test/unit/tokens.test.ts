import { describe, expect, it } from '@jest/globals';
import { purposeKey } from '../../src/shared/keys.js';
import { Links } from '../../src/shared/links.js';
import { TokenSigner } from '../../src/shared/tokens.js';
import { otherSpellings } from '../helpers/spellings.js';

const oldKey = 'old-key-0123456789abcdefghijklmnopqrstuv';
const newKey = 'new-key-0123456789abcdefghijklmnopqrstuv';
const claims = { p: 'unsubscribe', m: '6d1f7c1e-0000-4000-8000-000000000001', s: '3' };

describe('C4: signed link tokens cannot be forged or re-pointed', () => {
  const signer = new TokenSigner([oldKey]);
  const token = signer.sign(claims);

  it('C4: verifies an intact token and returns its claims, without any e-mail address in it', () => {
    expect(signer.verify(token, 'unsubscribe')).toEqual(claims);
    expect(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).not.toContain('@');
  });

  it('C4: refuses a token re-pointed at another member or topic, truncated, or for another purpose', () => {
    const [, kid, mac] = token.split('.');
    const repoint = (c: object) => `${Buffer.from(JSON.stringify(c)).toString('base64url')}.${kid}.${mac}`;
    expect(signer.verify(repoint({ ...claims, m: '6d1f7c1e-0000-4000-8000-000000000002' }), 'unsubscribe')).toBeNull();
    expect(signer.verify(repoint({ ...claims, s: 'all' }), 'unsubscribe')).toBeNull();
    expect(signer.verify(token.slice(0, -2), 'unsubscribe')).toBeNull();
    expect(signer.verify(`${token}.x`, 'unsubscribe')).toBeNull();
    expect(signer.verify(token, 'manage')).toBeNull();
    expect(signer.verify(undefined, 'unsubscribe')).toBeNull();
    expect(new TokenSigner(['another-key-0123456789abcdefghijklmno']).verify(token, 'unsubscribe')).toBeNull();
  });

  it('keeps links valid across key rotation: the new key signs, old keys still verify', () => {
    const rotated = new TokenSigner([newKey, oldKey]);
    expect(rotated.verify(token, 'unsubscribe')).toEqual(claims);
    const fresh = rotated.sign(claims);
    expect(fresh.split('.')[1]).not.toBe(token.split('.')[1]);
    expect(new TokenSigner([newKey]).verify(fresh, 'unsubscribe')).toEqual(claims);
    expect(signer.verify(fresh, 'unsubscribe')).toBeNull();
  });

  it('refuses an expired token', () => {
    const t = signer.sign({ ...claims, p: 'manage', e: Math.floor(Date.now() / 1000) - 1 });
    expect(signer.verify(t, 'manage')).toBeNull();
    const live = signer.sign({ ...claims, p: 'manage', e: Math.floor(Date.now() / 1000) + 60 });
    expect(signer.verify(live, 'manage')).not.toBeNull();
  });

  it('C4: accepts exactly one spelling of a token: padding, junk, case, whitespace or other bits in the last character are refused', () => {
    const now = Math.floor(Date.now() / 1000);
    const member = (n: number) => `6d1f7c1e-0000-4000-8000-00000000000${n}`;
    const tokens = [1, 2, 3, 4, 5, 6, 7, 8].flatMap((n) => [
      { purpose: 'unsubscribe', token: signer.sign({ ...claims, m: member(n), s: String(10 ** (n % 3)) }) },
      { purpose: 'manage', token: signer.sign({ p: 'manage', m: member(n), s: 'all', e: now + 3600 }) },
    ]);
    // The samples include a MAC with the URL-safe alphabet's own characters and payloads of every length class.
    expect(tokens.some(({ token }) => /[-_]/.test(token.split('.')[2]!))).toBe(true);
    expect(new Set(tokens.map(({ token }) => token.split('.')[0]!.length % 4)).size).toBeGreaterThan(1);
    for (const { purpose, token } of tokens) {
      expect(signer.verify(token, purpose)).not.toBeNull();
      const spellings = otherSpellings(token);
      expect(spellings.length).toBeGreaterThanOrEqual(15);
      for (const spelling of spellings) expect([spelling, signer.verify(spelling, purpose)]).toEqual([spelling, null]);
    }
  });
});

describe('C4, C11: links are signed with their own key, derived from the master keys', () => {
  const links = new Links('https://assent.test', [newKey, oldKey]);
  const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);
  const kidOf = (token: string) => token.split('.')[1];

  it('C11: a new link is signed with the derived links key, never with a master key itself', () => {
    const token = links.unsubscribe(claims.m, 3).token;
    expect(links.signer.verify(token, 'unsubscribe')).toEqual(claims);
    expect(new TokenSigner([newKey]).verify(token, 'unsubscribe')).toBeNull();
    expect(kidOf(token)).not.toBe(kidOf(new TokenSigner([newKey]).sign(claims)));
    expect(kidOf(token)).toBe(kidOf(new TokenSigner([purposeKey(newKey, 'links')]).sign(claims)));
    expect(new TokenSigner([purposeKey(newKey, 'links')]).verify(tokenOf(links.manage(claims.m)), 'manage')).not.toBeNull();
  });

  it('C4: a link signed the old way, with a master key (the first or a retired one), still verifies', () => {
    for (const master of [newKey, oldKey]) {
      const legacy = new TokenSigner([master]).sign(claims);
      expect(links.signer.verify(legacy, 'unsubscribe')).toEqual(claims);
    }
    expect(new Links('https://assent.test', [newKey]).signer.verify(new TokenSigner([oldKey]).sign(claims), 'unsubscribe')).toBeNull();
  });

  it('C11: a token signed with a key derived for another purpose is refused as a link', () => {
    for (const purpose of ['session', 'suppression', 'recovery-codes', 'link-confirm'] as const) {
      const other = new TokenSigner([purposeKey(newKey, purpose)]).sign(claims);
      expect([purpose, links.signer.verify(other, 'unsubscribe')]).toEqual([purpose, null]);
    }
  });

  it('C4: links signed by the key derived from a retired master key still verify after rotation', () => {
    const before = new Links('https://assent.test', [oldKey]).unsubscribe(claims.m, 3).token;
    expect(links.signer.verify(before, 'unsubscribe')).toEqual(claims);
  });
});
