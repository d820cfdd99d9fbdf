import { describe, expect, it } from '@jest/globals';
import { Batches } from '../../src/shared/batches.js';

describe('group calls (Batches)', () => {
  it('items added while a run is under way share the next run; each gets its own result', async () => {
    const runs: number[][] = [];
    const batches = new Batches<number, number>(async (items) => {
      runs.push(items);
      await new Promise((r) => setTimeout(r, 20));
      return items.map((n) => n * 10);
    });
    const first = [1, 2, 3].map((n) => batches.add(n));
    await new Promise((r) => setTimeout(r, 5));
    const second = [4, 5].map((n) => batches.add(n));
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(runs).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('a run takes at most `max` items and one item per key; the others wait for the next', async () => {
    const runs: string[][] = [];
    const batches = new Batches<string, string>(
      async (items) => {
        runs.push(items);
        return items.map((s) => s.toUpperCase());
      },
      { max: 2, key: (s) => s },
    );
    expect(await Promise.all(['a', 'a', 'b', 'c'].map((s) => batches.add(s)))).toEqual(['A', 'A', 'B', 'C']);
    expect(runs).toEqual([
      ['a', 'b'],
      ['a', 'c'],
    ]);
  });

  it('a failed run rejects each of its items, and the next run goes on', async () => {
    let calls = 0;
    const batches = new Batches<number, number>(async (items) => {
      if (++calls === 1) throw new Error('database away');
      return items;
    });
    const failed = Promise.allSettled([batches.add(1), batches.add(2)]);
    expect((await failed).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await batches.add(3)).toBe(3);
  });
});
