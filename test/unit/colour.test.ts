import { describe, expect, it } from '@jest/globals';
import { contrastRatio } from '../../src/branding/colour.js';
import { colourProblem, logoType } from '../../src/branding/branding.service.js';

describe('branding checks (issue 13.11)', () => {
  it('computes WCAG 2.1 contrast ratios', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#ffffff', '#ffffff')).toBeCloseTo(1, 5);
    // #767676 is the lightest grey that passes AA on white; #777777 just fails.
    expect(contrastRatio('#767676', '#ffffff')).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio('#777777', '#ffffff')).toBeLessThan(4.5);
    expect(contrastRatio('#2f5d50', '#ffffff')).toBeCloseTo(contrastRatio('#ffffff', '#2f5d50'), 10);
  });

  it('refuses a primary colour that fails AA with white text, and accepts one that passes', () => {
    expect(colourProblem('#777777')).toMatch(/contrast of 4\.48:1; it needs at least 4\.5:1/);
    expect(colourProblem('#767676')).toBeUndefined();
    expect(colourProblem('#2f5d50')).toBeUndefined();
  });

  it('tells a logo by its first bytes, not its name', () => {
    expect(logoType(Buffer.from('89504e470d0a1a0a0000', 'hex'))).toBe('image/png');
    expect(logoType(Buffer.from('ffd8ffe000104a464946', 'hex'))).toBe('image/jpeg');
    expect(logoType(Buffer.from('  <svg xmlns="http://www.w3.org/2000/svg"></svg>'))).toBe('image/svg+xml');
    expect(logoType(Buffer.from('<?xml version="1.0"?><svg></svg>'))).toBe('image/svg+xml');
    expect(logoType(Buffer.from('<html><script>alert(1)</script>'))).toBeUndefined();
    expect(logoType(Buffer.from('GIF89a'))).toBeUndefined();
  });
});
