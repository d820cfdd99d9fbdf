/**
 * Typed errors, mapped to HTTP once in shared/http/error-handler.ts. Services throw these;
 * routes never catch them (Express 5 forwards rejected promises).
 */
export type FieldErrors = Record<string, string>;

export class AppError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: the form is shown again with a message per field and the input kept. */
export class ValidationError extends AppError {
  constructor(
    readonly fieldErrors: FieldErrors,
    readonly input: Record<string, unknown> = {},
    message = 'Please correct the highlighted fields.',
  ) {
    super(message, 422, 'validation');
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'We could not find that page.') {
    super(message, 404, 'not_found');
  }
}

/** A link that was tampered with, has expired or was already used. */
export class InvalidLinkError extends AppError {
  constructor(message = 'This link is not valid. It may have expired or been used already.') {
    super(message, 400, 'invalid_link');
  }
}

export class ConflictError extends AppError {
  constructor(
    message: string,
    readonly constraint?: string,
  ) {
    super(message, 409, 'conflict');
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do that.') {
    super(message, 403, 'forbidden');
  }
}

/** PostgreSQL refused a write that breaks a rule it enforces (check constraint or trigger). */
export function isDatabaseRuleViolation(err: unknown): err is { code: string; constraint?: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ['23514', '23505', '23503', 'P0001'].includes(code);
}

/**
 * What a form does about a database refusal, by constraint name: a field error ([field, message],
 * the input kept) or a conflict (a message). '*' stands for any other rule the database enforces.
 */
export type Refusals = Record<string, readonly [field: string, message: string] | string>;

/**
 * The one place a database refusal becomes something a person can act on. A refusal named in
 * `refusals` becomes its field error or conflict; anything else is thrown on unchanged.
 */
export function translateRefusal(err: unknown, refusals: Refusals, input: Record<string, unknown> = {}): never {
  if (isDatabaseRuleViolation(err)) {
    const refusal = (err.constraint && refusals[err.constraint]) ?? refusals['*'];
    if (typeof refusal === 'string') throw new ConflictError(refusal, err.constraint);
    if (refusal) throw new ValidationError({ [refusal[0]]: refusal[1] }, input);
  }
  throw err;
}

/** A unique index refused a second row (of that constraint, when named). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  return isDatabaseRuleViolation(err) && err.code === '23505' && (constraint === undefined || err.constraint === constraint);
}
