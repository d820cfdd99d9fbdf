import { describe, expect, it } from '@jest/globals';
import { hasControlCharacters, looksLikeLink, multiLineText, personName, secretText, singleLineText } from '../../src/shared/http/text.js';

const controls = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  '\u007f',
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(0x80 + i)),
  '\u2028',
  '\u2029',
];
const hex = (c: string) => `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

describe('a name that reads as a web address', () => {
  it.each([
    'Visit http://evil.example/login to finish',
    'https://evil.example',
    'hxxp://evil',
    'www.evil.example',
    'Please go to WWW.EVIL.EXAMPLE',
    'evil.example/login',
    'evil.com',
    'bad.io',
    'Claim your prize at Bad.IO now',
    'x@evil.com',
    '1.2.3.4/login',
    'Call 192.168.0.1',
    'пример.com',
  ])('is refused: %s', (name) => {
    expect(looksLikeLink(name)).toBe(true);
  });

  it.each([
    'J.R.R. Tolkien',
    'St.John',
    'Mr. Smith',
    "Anne-Marie O'Neil",
    'Dr. Ai Weiwei',
    'Maria de la Cruz',
    'Ó Súilleabháin',
    '山田 太郎',
    'Владимир Набоков',
    'محمد عبد الله',
    'A/B Testing Society',
    'Smith & Co',
    'Jean-Luc Picard Jr.',
    'E. Coli',
  ])('passes: %s', (name) => {
    expect(looksLikeLink(name)).toBe(false);
  });
});

describe('control characters in form text', () => {
  it('every C0 and C1 control, DEL and the Unicode line and paragraph separators are control characters; ordinary text is not', () => {
    for (const c of controls) expect([hex(c), hasControlCharacters(`a${c}b`)]).toEqual([hex(c), true]);
    expect(hasControlCharacters('Ada Lovelace, 12 St James’s Square — ÅÄÖ 山田 €')).toBe(false);
    expect(hasControlCharacters('\u00a0non-breaking\u00a0space')).toBe(false);
  });

  it('a one-line field refuses every one of them wherever it stands, then trims', () => {
    const field = singleLineText().max(20);
    for (const c of controls) {
      for (const value of [`a${c}b`, `ab${c}`, `${c}ab`]) expect([hex(c), field.safeParse(value).success]).toEqual([hex(c), false]);
    }
    expect(field.parse('  Ada Lovelace  ')).toBe('Ada Lovelace');
    expect(field.safeParse('a\u0000b').error?.issues[0]?.message).toContain('one line');
  });

  it('a secret is checked but never trimmed', () => {
    expect(secretText().parse('  spaced out  ')).toBe('  spaced out  ');
    expect(secretText().safeParse('pass\u0000word').success).toBe(false);
  });

  it('a multi-line field keeps line breaks as LF and refuses every other control; tabs only where allowed', () => {
    const address = multiLineText();
    expect(address.parse('1 Road\r\nTown\rCounty\nCountry\r\n')).toBe('1 Road\nTown\nCounty\nCountry');
    for (const c of controls.filter((c) => c !== '\n' && c !== '\r')) {
      expect([hex(c), address.safeParse(`a${c}b`).success]).toEqual([hex(c), false]);
    }
    const prose = multiLineText({ tabs: true });
    expect(prose.parse('Item\tvalue\r\nnext')).toBe('Item\tvalue\nnext');
    expect(prose.safeParse('a\u2028b').success).toBe(false);
    expect(prose.safeParse('a\u0000b').success).toBe(false);
  });

  it('a person’s name refuses control characters and web addresses, with a message that says which', () => {
    expect(personName().safeParse('Ada\nLovelace').error?.issues[0]?.message).toContain('one line');
    expect(personName().safeParse('evil.com').error?.issues[0]?.message).toContain('web address');
    expect(personName().parse(' J.R.R. Tolkien ')).toBe('J.R.R. Tolkien');
  });
});
