const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The same base64url string with its last character swapped for one that a lenient decoder reads
 * as the same bytes: the unused low bits of the last character differ. Empty when every bit is used.
 */
function sameBytesOtherLastChar(s: string): string[] {
  const unusedBits = [0, 0, 4, 2][s.length % 4]!;
  const last = ALPHABET.indexOf(s.at(-1)!);
  const out: string[] = [];
  for (let low = 1; low < 1 << unusedBits; low++) out.push(`${s.slice(0, -1)}${ALPHABET[last ^ low]}`);
  return out;
}

/**
 * Other spellings of a signed link token (payload.kid.mac) that decode to the same payload, key id
 * and MAC bytes with a lenient decoder, or differ only in case or whitespace. A token has exactly
 * one spelling, so every one of these must be refused.
 */
export function otherSpellings(token: string): string[] {
  const [payload = '', kid = '', mac = ''] = token.split('.');
  const join = (p: string, k: string, m: string) => `${p}.${k}.${m}`;
  const flipCase = (s: string) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
  const standardAlphabet = (s: string) => s.replace(/-/g, '+').replace(/_/g, '/');
  const spellings = [
    `${token}=`,
    `${token}==`,
    `${token}!!`,
    `${token}.`,
    ` ${token}`,
    `${token} `,
    `${token}\n`,
    `${token}\t`,
    join(payload, kid.toUpperCase(), mac),
    join(payload, kid.toLowerCase(), mac),
    join(payload, flipCase(kid), mac),
    join(payload, ` ${kid}`, mac),
    join(payload, kid, ` ${mac}`),
    join(payload, kid, `${mac.slice(0, 20)} ${mac.slice(20)}`),
    join(payload, kid, standardAlphabet(mac)),
    join(`${payload}=`, kid, mac),
    join(standardAlphabet(payload), kid, mac),
    ...sameBytesOtherLastChar(mac).map((m) => join(payload, kid, m)),
    ...sameBytesOtherLastChar(payload).map((p) => join(p, kid, mac)),
  ];
  return [...new Set(spellings)].filter((s) => s !== token);
}

/**
 * Other spellings of an admin route (its :id made concrete) that Express routes to the same
 * handler, as it matches without regard to case or a trailing slash.
 */
export function routeSpellings(path: string): string[] {
  const concrete = path.replace(/:id/g, '1');
  const mixed = concrete.replace(/\/([a-z])/g, (_m, c: string) => `/${c.toUpperCase()}`);
  return [concrete.toUpperCase(), mixed, `${concrete}/`, `${mixed}/`, `${concrete.toUpperCase()}/`];
}
