import { randomUUID } from 'node:crypto';
import { mkdir, unlink } from 'node:fs/promises';
import type { Request, RequestHandler } from 'express';
import type multer from 'multer';

/** What went wrong with an upload, for the form to say (the request still reaches its route). */
export function uploadProblem(req: Request): string | undefined {
  return (req as Request & { uploadProblem?: string }).uploadProblem;
}

function sizeWords(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / (1024 * 1024))} MB` : `${Math.round(bytes / 1024)} kB`;
}

/**
 * Runs the multer parser `make` builds; a failure becomes uploadProblem(req), never a failed
 * request. multer is loaded, and the parser built, by the first upload, not with every process.
 */
function parsedWith(make: (m: typeof multer) => RequestHandler, maxBytes: number): RequestHandler {
  let loaded: Promise<{ m: typeof multer; parse: RequestHandler }> | undefined;
  return (req, res, next) => {
    loaded ??= import('multer').then(({ default: m }) => ({ m, parse: make(m) }));
    // A failure to load, or a parser that throws, is the request's error (next), not an unhandled rejection.
    loaded
      .then(({ m, parse }) => {
        void parse(req, res, (err: unknown) => {
          if (err) {
            const tooBig = err instanceof m.MulterError && err.code === 'LIMIT_FILE_SIZE';
            (req as Request & { uploadProblem?: string }).uploadProblem = tooBig
              ? `The file is larger than ${sizeWords(maxBytes)}.`
              : 'The upload could not be read. Please choose the file again.';
            req.body ??= {};
          }
          next();
        });
      })
      .catch(next);
  };
}

/**
 * One file from a multipart form, held in memory, parsed before the CSRF check (which reads the
 * token from the parsed body: forms put `_csrf` before the file). A file over `maxBytes`, or any
 * other malformed upload, does not fail the request: the route finds `uploadProblem(req)` and
 * shows it on the form with the other fields kept.
 */
export function singleFileUpload(field: string, maxBytes: number): RequestHandler {
  const handle = parsedWith(
    (m) => m({ storage: m.memoryStorage(), limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 4096 } }).single(field),
    maxBytes,
  );
  return (req, res, next) => (req.is('multipart/form-data') ? handle(req, res, next) : next());
}

/**
 * One large file from a multipart form, streamed to a file in `dir` (never whole in memory), like
 * singleFileUpload otherwise. Only a signed-in session's upload is written at all (the route's
 * guard decides the rest), and the file is deleted once the response is done, whatever the route
 * did with it: a route that needs it longer reads it before it answers.
 */
export function diskFileUpload(field: string, maxBytes: number, dir: string): RequestHandler {
  const handle = parsedWith((m) => {
    const storage = m.diskStorage({
      destination: (_req, _file, cb) => {
        mkdir(dir, { recursive: true, mode: 0o700 }).then(
          () => cb(null, dir),
          (err: Error) => cb(err, dir),
        );
      },
      filename: (_req, _file, cb) => cb(null, `upload-${randomUUID()}.tmp`),
    });
    return m({ storage, limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 4096 } }).single(field);
  }, maxBytes);
  return (req, res, next) => {
    if (!req.is('multipart/form-data')) return next();
    if (!(req.session as { passport?: { user?: unknown } } | undefined)?.passport?.user) return next();
    res.on('close', () => {
      if (req.file?.path) unlink(req.file.path).catch(() => undefined);
    });
    handle(req, res, next);
  };
}
