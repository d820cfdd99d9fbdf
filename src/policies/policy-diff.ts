import { diffLines, diffWordsWithSpace, type ChangeObject } from 'diff';

/** One run of a comparison: text both versions share, or text only the new (added) or old (removed) one has. */
export interface DiffPart {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

export interface PolicyDiff {
  parts: DiffPart[];
  /** Words in added and in removed runs, for the summary line. */
  wordsAdded: number;
  wordsRemoved: number;
}

/** A word-level comparison of a changed paragraph gives up after this long, and the paragraph shows as replaced. */
const WORD_DIFF_MS = 500;
/** Below this share of common characters a changed paragraph reads better as replaced whole than as a word salad. */
const MIN_COMMON_SHARE = 0.5;

const words = (text: string) => (text.match(/\S+/g) ?? []).length;
const part = (c: ChangeObject<string>): DiffPart => ({ kind: c.added ? 'added' : c.removed ? 'removed' : 'same', text: c.value });

/** A paragraph replaced by another: word by word when they are mostly alike, else whole. */
function compareChanged(before: string, after: string): { parts: DiffPart[]; byLine: boolean } {
  const byWord = diffWordsWithSpace(before, after, { timeout: WORD_DIFF_MS });
  const common = byWord?.filter((c) => !c.added && !c.removed).reduce((n, c) => n + c.value.trim().length, 0) ?? 0;
  if (byWord && common >= MIN_COMMON_SHARE * Math.max(before.trim().length, after.trim().length)) {
    return { parts: byWord.map(part), byLine: false };
  }
  return {
    parts: [
      { kind: 'removed', text: before },
      { kind: 'added', text: after },
    ],
    byLine: true,
  };
}

/**
 * What a new policy version changes in the text of the one before it (issue 13.9): line by line
 * (a line is a paragraph, a heading or a list item), and inside a line that was edited rather than
 * replaced, word by word. Whitespace and line breaks are kept, so the comparison reads like the text.
 */
export function comparePolicyText(before: string, after: string): PolicyDiff {
  const lines = diffLines(before, after);
  const parts: DiffPart[] = [];
  for (let i = 0; i < lines.length; i++) {
    const c = lines[i]!;
    const next = lines[i + 1];
    if (c.removed && next?.added) {
      parts.push(...compareChanged(c.value, next.value).parts);
      i++;
    } else parts.push(part(c));
  }
  const merged = parts.filter((p) => p.text !== '');
  return {
    parts: merged,
    wordsAdded: merged.filter((p) => p.kind === 'added').reduce((n, p) => n + words(p.text), 0),
    wordsRemoved: merged.filter((p) => p.kind === 'removed').reduce((n, p) => n + words(p.text), 0),
  };
}
