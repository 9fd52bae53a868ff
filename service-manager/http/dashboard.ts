import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, type Router } from 'express';
import { NotFound } from '../../lib/http-errors.js';

const DASHBOARD_PATH = '/dashboard/';

/** The built page (npm run build puts it next to the compiled service manager). */
const FILES = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/**
 * The web dashboard's files, served before authentication: the page holds no
 * data; what it shows it asks the API for with the tenant's token. The page
 * may talk to this service manager only, and run no script but its own.
 */
export function dashboard(): Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  const secured: RequestHandler = (_req, res, next) => {
    res.set({
      'Content-Security-Policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    next();
  };
  router.get('/dashboard', (_req, res) => res.redirect(301, DASHBOARD_PATH));
  router.use(DASHBOARD_PATH, secured, express.static(FILES, { index: 'index.html', redirect: false }), (req) => {
    throw new NotFound(`The dashboard has no ${req.originalUrl}.`);
  });
  return router;
}
