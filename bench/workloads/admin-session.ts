import { generate } from 'otplib';
import { hashPassword } from '../../src/auth/passwords.js';
import { insertStaffUser } from '../../src/auth/staff.repository.js';
import { encryptTotpSecret } from '../../src/auth/totp.js';
import type { Db } from '../../src/db.js';

const PASSWORD = 'bench password 0123456789';
const TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/** An admin signed in through the real pages (password, then TOTP); returns the session cookie. */
export async function signInAdmin(db: Db, base: string, secretKeys: readonly string[]): Promise<string> {
  const staffId = await insertStaffUser(db, {
    email: 'bench-admin@bench.example',
    name: 'Bench',
    role: 'admin',
    passwordHash: await hashPassword(PASSWORD),
  });
  await db('staff_users')
    .where({ id: staffId })
    .update({ totp_secret: encryptTotpSecret(TOTP, [...secretKeys], staffId), totp_enabled_at: db.fn.now() });
  let cookie = '';
  const call = async (p: string, form?: Record<string, string>) => {
    const res = await fetch(`${base}${p}`, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    const set = /assent\.sid=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
    if (set) cookie = set;
    return res;
  };
  const csrf = async (p: string) => /name="_csrf" value="([^"]+)"/.exec(await (await call(p)).text())?.[1] ?? '';
  await call('/admin/login', { _csrf: await csrf('/admin/login'), email: 'bench-admin@bench.example', password: PASSWORD });
  const signedIn = await call('/admin/login/totp', { _csrf: await csrf('/admin/login/totp'), code: await generate({ secret: TOTP }) });
  if (signedIn.headers.get('location') !== '/admin') throw new Error(`bench sign-in failed: ${signedIn.status}`);
  return cookie;
}
