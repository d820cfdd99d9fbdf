/** sns-validator ships no types; this is the part Assent uses. */
declare module 'sns-validator' {
  export default class MessageValidator {
    constructor(hostPattern?: RegExp, encoding?: string);
    validate(message: Record<string, unknown> | string, callback: (err: Error | null, message?: Record<string, unknown>) => void): void;
  }
}
