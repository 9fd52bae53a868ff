import express, { type Router } from 'express';
import { NotFound } from '../../lib/http-errors.js';
import { detectorText } from './endpoints.js';
import { parseMesosFault } from './faults.js';
import type { MesosWorld } from './world.js';

/** /sim/mesos: the emulated daemons on every node, the clusters they formed, and Mesos faults. */
export function mesosControlRoutes(world: MesosWorld): Router {
  const router = express.Router();

  router.get('/nodes', (_req, res) => {
    res.json(
      [...world.nodes.values()].map((node) => ({
        vm: node.vmName,
        address: node.address,
        ...(node.zookeeper ? { zookeeper: { state: node.zookeeper.state, mode: world.zookeeperMode(node.zookeeper) } } : {}),
        ...(node.master
          ? {
              master: {
                state: node.master.state,
                id: node.master.id,
                leading: node.master.group?.leader === node.master,
                zk: node.master.flags.detector ? detectorText(node.master.flags.detector) : null,
              },
            }
          : {}),
        ...(node.agent ? { agent: { state: node.agent.state, id: node.agent.id ?? null, master: detectorText(node.agent.flags.detector) } } : {}),
        ...(node.marathon ? { marathon: { state: node.marathon.state, leading: node.marathon.group?.leader === node.marathon } } : {}),
        problems: node.problems,
      })),
    );
  });

  router.get('/clusters', (_req, res) => {
    res.json(
      [...world.groups.values()].map((group) => ({
        key: group.key,
        masters: [...group.members.keys()].map((m) => m.node.address),
        leader: group.leader?.node.address ?? null,
        phase: group.phase ?? null,
        agents: [...group.agents.values()].map((a) => ({ id: a.id, hostname: a.hostname, active: a.active, recovered: a.recovered })),
        frameworks: [...group.frameworks.values()].map((f) => ({ id: f.id, name: f.name, active: f.active })),
      })),
    );
  });

  router.get('/faults', (_req, res) => res.json(world.faults.list()));
  router.post('/faults', (req, res) => {
    const fault = parseMesosFault(req.body);
    const id = world.faults.add(fault);
    if (fault.kind === 'agent-partitioned' && fault.ms !== undefined) world.later(fault.ms, () => world.faults.remove(id));
    world.reconcile();
    res.status(201).json({ id });
  });
  router.delete('/faults', (_req, res) => {
    world.faults.clear();
    world.reconcile();
    res.status(204).end();
  });
  router.delete('/faults/:id', (req, res) => {
    if (!world.faults.remove(Number(req.params['id']))) throw new NotFound(`No fault ${req.params['id']}.`);
    world.reconcile();
    res.status(204).end();
  });
  return router;
}
