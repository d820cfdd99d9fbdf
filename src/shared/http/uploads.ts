import type { Request, RequestHandler } from 'express';
import multer from 'multer';

/** What went wrong with an upload, for the form to say (the request still reaches its route). */
export function uploadProblem(req: Request): string | undefined {
  return (req as Request & { uploadProblem?: string }).uploadProblem;
}

/**
 * One file from a multipart form, held in memory, parsed before the CSRF check (which reads the
 * token from the parsed body: forms put `_csrf` before the file). A file over `maxBytes`, or any
 * other malformed upload, does not fail the request: the route finds `uploadProblem(req)` and
 * shows it on the form with the other fields kept.
 */
export function singleFileUpload(field: string, maxBytes: number): RequestHandler {
  const parse = multer({ storage: multer.memoryStorage(), limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 4096 } }).single(
    field,
  );
  return (req, res, next) => {
    if (!req.is('multipart/form-data')) return next();
    parse(req, res, (err: unknown) => {
      if (err) {
        const tooBig = err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE';
        (req as Request & { uploadProblem?: string }).uploadProblem = tooBig
          ? `The file is larger than ${Math.round(maxBytes / 1024)} kB.`
          : 'The upload could not be read. Please choose the file again.';
        req.body ??= {};
      }
      next();
    });
  };
}
