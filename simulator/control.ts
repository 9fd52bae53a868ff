import express, { type Router } from 'express';
import { ManualClock, type Timers } from '../lib/clock.js';
import { BadRequest, Conflict, httpErrorOf, NotFound } from '../lib/http-errors.js';
import { isObject } from '../lib/objects.js';
import type { Cloud } from './cloud.js';
import { mergeSettings } from './fixtures.js';
import { parseFault, type Faults } from './faults.js';
import { formatDate, jobJson } from './render.js';
import type { VmLifecycle } from './vm-lifecycle.js';

/**
 * The simulator's control API under /sim, for tests and operators: every VM
 * ever created (so leaks show), jobs, injected faults, settings, and the
 * clock. It is not part of CloudStack and needs no signature.
 */
export function controlRoutes(cloud: Cloud, faults: Faults, timers: Timers, lifecycle: VmLifecycle): Router {
  const router = express.Router();
  router.use(express.json({ limit: '64kb' }));

  router.get('/vms', (_req, res) => {
    res.json(
      [...cloud.vms.values()].map((vm) => ({
        id: vm.id,
        name: vm.name,
        account: vm.account.name,
        state: vm.removed === undefined ? vm.state : 'Expunged',
        address: vm.ip,
        zone: vm.zone.name,
        template: vm.template.name,
        offering: vm.offering.name,
        created: formatDate(vm.created),
        ...(vm.removed === undefined ? {} : { removed: formatDate(vm.removed) }),
        tags: vm.lastTags ?? Object.fromEntries(cloud.tagsOf(vm.id).map((t) => [t.key, t.value])),
      })),
    );
  });

  // What happens to a VM outside any account's doing: a host that fails or is shut down, an operator's destroy.
  router.post('/vms/:ref/:event', (req, res) => {
    const ref = req.params['ref'];
    const vm = [...cloud.vms.values()].find((v) => v.removed === undefined && (v.id === ref || v.name === ref));
    if (!vm) throw new NotFound(`No VM ${ref}.`);
    const event = req.params['event'];
    if (event !== 'stop' && event !== 'destroy') throw new NotFound('A VM can be stopped (stop) or destroyed (destroy).');
    if (event === 'stop') {
      if (vm.state !== 'Running') throw new Conflict(`VM ${vm.name} is ${vm.state}, not Running.`);
      void lifecycle.stop(vm, cloud.timing.stopMs);
    } else {
      if (vm.state === 'Destroyed' || vm.state === 'Expunging') throw new Conflict(`VM ${vm.name} is already ${vm.state}.`);
      void lifecycle.destroy(vm, false);
    }
    res.status(202).json({ id: vm.id, name: vm.name, state: vm.state });
  });

  router.get('/jobs', (_req, res) => {
    res.json([...cloud.jobs.values()].map((job) => ({ command: job.command, ...jobJson(job) })));
  });

  router.get('/calls', (_req, res) => {
    res.json(Object.fromEntries([...cloud.calls].map(([account, byCommand]) => [account, Object.fromEntries(byCommand)])));
  });

  router.get('/faults', (_req, res) => res.json(faults.list()));
  router.post('/faults', (req, res) => {
    res.status(201).json({ id: faults.add(parseFault(req.body)) });
  });
  router.delete('/faults', (_req, res) => {
    faults.clear();
    res.status(204).end();
  });
  router.delete('/faults/:id', (req, res) => {
    if (!faults.remove(Number(req.params['id']))) throw new NotFound(`No fault ${req.params['id']}.`);
    res.status(204).end();
  });

  router.get('/settings', (_req, res) => res.json(cloud.settings));
  router.put('/settings', (req, res) => {
    if (!isObject(req.body)) throw new BadRequest('Settings are a JSON object.');
    cloud.settings = mergeSettings(cloud.settings, req.body, (path, why) => {
      throw new BadRequest(`${path}: ${why}`);
    });
    res.json(cloud.settings);
  });

  router.get('/clock', (_req, res) => res.json({ now: formatDate(timers.now()), epochMs: timers.now(), manual: timers instanceof ManualClock }));
  router.post('/clock/advance', (req, res) => {
    if (!(timers instanceof ManualClock)) throw new Conflict('The clock runs on its own; start the simulator with a manual clock to advance it.');
    const ms = isObject(req.body) ? req.body['ms'] : undefined;
    if (!Number.isSafeInteger(ms) || (ms as number) < 0) throw new BadRequest('Give {"ms": <whole number ≥ 0>}.');
    timers.advance(ms as number);
    res.json({ now: formatDate(timers.now()), epochMs: timers.now() });
  });

  router.use((error: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    const known = httpErrorOf(error);
    if (known) {
      res.status(known.status).json({ error: known.message });
      return;
    }
    const status = (error as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ error: (error as Error).message });
      return;
    }
    next(error);
  });
  return router;
}
