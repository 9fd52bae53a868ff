import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { metricsEndpoint } from '../../lib/metrics/http.js';
import { NotFound } from '../../lib/http-errors.js';
import type { Logger } from '../../lib/logger.js';
import { LINK_KIND } from '../../lib/occi/model.js';
import type { TokenValidator } from '../auth/validator.js';
import { handlers, type HandlerDeps } from './handlers.js';
import { errorHandler, occiVersion, requestContext, series, type RequestObserver } from '../../lib/http/middleware.js';
import type { WriteLimit } from '../admission/write-limit.js';
import { authenticate, limitWrites } from './auth.js';
import { probes, type ReadinessCheck } from '../../lib/http/probes.js';
import { dashboard } from './dashboard.js';
import { brokerApi, type BrokerApiDeps } from './broker-api.js';
import { cloudFormationApi, type CloudFormationApiDeps } from './cloudformation-api.js';
import { baseUrlOf } from '../../lib/http/context.js';

export interface AppDeps extends HandlerDeps {
  readonly validator: TokenValidator;
  /** What `/readyz` checks, by name. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** What `/metrics` serves, and the bearer token it then wants, if any. */
  readonly metrics: Registry;
  readonly metricsToken?: string;
  /** Hears of every request that ended. */
  readonly observe: RequestObserver;
  /** Each tenant's allowance of writes. */
  readonly writes: WriteLimit;
  readonly logger: Logger;
  readonly serverName: string;
  readonly maxBodyBytes: number;
  /** The CloudFormation-compatible API. */
  readonly cloudformation: Pick<CloudFormationApiDeps, 'stacks' | 'awsKey' | 'clock'>;
  /** The Open Service Broker API, when the manifest offers the service to platforms. */
  readonly broker?: Pick<BrokerApiDeps, 'broker' | 'platforms'>;
}

/**
 * The OCCI API: the query interface, the kind's collection and its instances,
 * each instance's event history, and the (empty) link collection; before
 * authentication, the health and readiness probes, the metrics and the
 * dashboard's files.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('case sensitive routing', true);
  app.set('query parser', 'simple');

  const routes = handlers(deps);
  const location = deps.type.kind.location!;

  // Clients poll; successful reads are logged at debug.
  app.use(
    series(
      requestContext(deps.logger, deps.serverName, true, deps.observe),
      probes(deps.readiness, deps.logger),
      metricsEndpoint(deps.metrics, deps.metricsToken),
      dashboard(),
      cloudFormationApi({ ...deps.cloudformation, logger: deps.logger, maxBodyBytes: deps.maxBodyBytes }),
      ...(deps.broker
        ? [
            brokerApi({
              ...deps.broker,
              logger: deps.logger,
              maxBodyBytes: deps.maxBodyBytes,
              baseUrl: (req) => baseUrlOf(req, deps.publicUrl, deps.fallbackHost),
            }),
          ]
        : []),
      occiVersion(),
      authenticate(deps.validator),
      limitWrites(deps.writes),
      express.raw({ type: () => true, limit: deps.maxBodyBytes }),
    ),
  );

  // The path clients poll comes first: the router tries each route in turn.
  app.all(`${location}:id`, routes.entity);
  app.all(['/-/', '/.well-known/org/ogf/occi/-/'], routes.queryInterface);
  app.all('/', routes.root);
  app.all(location, routes.collection);
  app.all(LINK_KIND.location!, routes.links);
  app.all(`${location}:id/events`, routes.events);
  app.use((req) => {
    throw new NotFound(`Nothing at ${req.path}; instances live under ${location}.`);
  });
  app.use(errorHandler(deps.maxBodyBytes));
  return app;
}
