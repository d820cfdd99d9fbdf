import type { Response } from 'express';
import { z } from 'zod';
import { ValidationError, type FieldErrors } from '../errors.js';

type Locals = Record<string, unknown>;

/**
 * Names the view a route's form lives in, so a ValidationError thrown anywhere below re-renders
 * it with the field messages and the input kept (see error-handler.ts). The page's data is given
 * as a function, so it is loaded only when there is an error to show. It runs after the router has
 * left the route: take what it needs from req.params before, not inside it.
 */
export function formView(res: Response, view: string, locals: Locals | (() => Locals | Promise<Locals>) = {}): void {
  res.locals.formView = view;
  res.locals.formLocals = locals;
}

/** Parses a form body with a command schema; bad input becomes one message per field. */
export function parseForm<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const input = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? 'form');
    errors[field] ??= issue.message;
  }
  const kept = Object.fromEntries(Object.entries(input).filter(([k]) => k !== 'password' && k !== '_csrf'));
  throw new ValidationError(errors, kept);
}

/** A ticked checkbox posts "yes"; an unticked one posts nothing. */
export const checkbox = z
  .unknown()
  .optional()
  .transform((v) => v === 'yes');
