import type { Request, Response } from 'express';

/**
 * The second, explicit step of an irreversible staff action (issue 13.2): the first post shows
 * what will happen and to how many people, and only a post of that page (carrying
 * `confirmed=yes` and the first step's values) acts. A stale or forged first post changes nothing.
 */
export interface ConfirmStep {
  /** "Publish policy version 2.0?" */
  heading: string;
  /** What will happen, one consequence per line; the last usually says whether it can be undone. */
  consequences: string[];
  /** Where the confirming form posts (the same action as the first step). */
  action: string;
  /** The first step's values, carried as hidden fields. */
  fields?: Record<string, string>;
  /** Says the act and its reach: "Publish and e-mail 1,234 members". */
  button: string;
  /** Where "Go back" leads. */
  back: string;
}

export function isConfirmed(req: Request): boolean {
  return (req.body as Record<string, unknown> | undefined)?.confirmed === 'yes';
}

export function askToConfirm(res: Response, step: ConfirmStep): void {
  res.render('admin/confirm', { title: step.heading, step });
}

/** "1 member", "1,234 members". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`;
}
