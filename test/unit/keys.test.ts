import { describe, expect, it } from '@jest/globals';
import { purposeKey } from '../../src/shared/keys.js';
import { suppressionKeys } from '../../src/shared/suppression.js';

const first = 'first-key-0123456789abcdefghijklmnopqrst';
const retired = 'retired-key-0123456789abcdefghijklmnopqr';

describe('C6, C11: the suppression list has its own key, and old entries keep suppressing', () => {
  it('C11: new entries are keyed with the suppression key derived from the first master key, never a master key', () => {
    const keys = suppressionKeys([first, retired]);
    expect(keys.write).toBe(purposeKey(first, 'suppression'));
    expect([first, retired, purposeKey(first, 'session'), purposeKey(first, 'links')]).not.toContain(keys.write);
  });

  it('C6: lookups try the derived key of every master key, then the master keys that keyed entries before key separation', () => {
    expect(suppressionKeys([first, retired]).lookup).toEqual([
      purposeKey(first, 'suppression'),
      purposeKey(retired, 'suppression'),
      first,
      retired,
    ]);
    expect(Object.isFrozen(suppressionKeys([first]).lookup)).toBe(true);
  });
});
