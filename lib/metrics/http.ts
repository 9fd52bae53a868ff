import type { Request, RequestHandler, Response } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import { sendText } from '../http/context.js';
import { HEALTH_PATH, READY_PATH } from '../http/probes.js';
import { matchesDigest, sha256 } from '../secrets.js';

export const METRICS_PATH = '/metrics';

/** HTTP requests by route, method and status, with their latency; the route is the matched pattern, never the path itself. */
export class HttpMetrics {
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly latency: Histogram<'route' | 'method'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'http_request_duration_seconds',
      help: "Time from a request's arrival to the end of its answer, by route and method.",
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  observe(req: Request, res: Response, seconds: number): void {
    const route = routeOf(req);
    this.requests.inc({ route, method: req.method, status: String(res.statusCode) });
    this.latency.observe({ route, method: req.method }, seconds);
  }
}

/** The pattern a request matched (bounded), or what answered it before any route did. */
function routeOf(req: Request): string {
  const route = (req as { route?: { path?: string | RegExp } }).route;
  if (route?.path !== undefined) return String(route.path);
  return [METRICS_PATH, HEALTH_PATH, READY_PATH].includes(req.path) ? req.path : 'unmatched';
}

/**
 * `GET /metrics` in Prometheus's text format, before authentication; with a
 * token configured, only for `Authorization: Bearer <token>`.
 */
export function metricsEndpoint(registry: Registry, token?: string): RequestHandler {
  const digest = token === undefined ? undefined : sha256(token);
  return (req, res, next) => {
    if (req.path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const given = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    if (digest !== undefined && (given === undefined || !matchesDigest(given, digest))) {
      sendText(res, 401, 'Metrics need Authorization: Bearer <the configured metrics token>.', { 'WWW-Authenticate': 'Bearer' });
      return;
    }
    void registry.metrics().then(
      (text) => {
        res.statusCode = 200;
        res.setHeader('Content-Type', registry.contentType);
        res.end(text);
      },
      (error: unknown) => next(error),
    );
  };
}
