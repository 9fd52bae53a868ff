import { expect } from 'chai';
import { hurtleReads } from './hurtle-rules.js';
import { SERVICE, type SoWorld } from './orchestrator.js';

/** What hurtle's SM forwards on every call: its service_params for the phase, then the client's attributes, all unquoted. */
export const HURTLE_CLIENT =
  'mesos.masters=1, mesos.agents=1, mesos.marathon=false, cloudstack.zone=sim-zone-1, cloudstack.template=ubuntu-22.04-mesos, cloudstack.offering.master=medium, cloudstack.offering.agent=large';
export const HURTLE_TEXT = { 'Content-Type': 'text/occi' } as const;
const SECRET = 'demo-secret-key';
const STATE = 'occi.mcn.stack.state';
const MESSAGE = 'occi.mcn.stack.message';

/** All hurtle's cloud controller gives an SO container: the design URI (here the account) and its name; PORT 0 keeps the machine's 8080 free. */
export function hurtleEnvironment(world: SoWorld, name: string): Record<string, string> {
  return { DESIGN_URI: `http://demo-api-key:${SECRET}@${new URL(world.sim.url).host}/client/api`, DC_NAME: name, PORT: '0' };
}

/**
 * hurtle's service manager driving an SO it had its cloud controller start:
 * the readiness probe, init, deploy, provision, reads, an update and the
 * delete, with the headers and attributes hurtle sends.
 */
export async function playHurtle(world: SoWorld, runtime: 'process' | 'docker'): Promise<void> {
  const name = 'somesoa1b2c3d4e5f6a7b8';
  const so = await world.startUnderHurtle(hurtleEnvironment(world, name), runtime);
  const category = (term: string): Record<string, string> => ({ ...HURTLE_TEXT, Category: `${term}; scheme="${SERVICE}"`, 'X-OCCI-Attribute': HURTLE_CLIENT });

  expect((await so.call('GET', '/', { ...HURTLE_TEXT, Accept: 'application/occi+json' })).status, "the readiness probe of hurtle's SM").to.equal(200);
  const put = await so.call('PUT', '/orchestrator/default', category('orchestrator'));
  expect([put.status, put.header('location')], put.body).to.deep.equal([201, `${so.url}/orchestrator/default`]);
  expect((await so.call('GET', '/orchestrator/default', { 'X-Tenant-Name': 'other' })).status, 'another tenant, once initialised').to.equal(403);
  const deploy = await so.call('POST', '/orchestrator/default?action=deploy', category('deploy'));
  expect(deploy.status, deploy.body).to.equal(200);
  expect((await so.settle())[STATE]).to.equal('CREATE_COMPLETE');
  const provision = await so.call('POST', '/orchestrator/default?action=provision', category('provision'));
  expect(provision.status, provision.body).to.equal(200);
  const ready = await so.settle();
  expect(ready[STATE], String(ready[MESSAGE])).to.equal('UPDATE_COMPLETE');

  const text = await so.call('GET', '/orchestrator/default', { ...HURTLE_TEXT, Accept: 'text/occi' });
  const read = hurtleReads(text.header('x-occi-attribute')!);
  expect(read.get(STATE)).to.equal('UPDATE_COMPLETE');
  const [master] = (await world.liveVms(name)).filter((vm) => /-m1$/.test(String(vm.name)));
  expect(read.get('mesos.master.url')).to.equal(`http://${master?.address}:5050`);
  expect(read.get('mesos.agents.active')).to.equal('1');
  expect(text.header('x-occi-attribute'), 'the account stays out of every rendering').to.not.contain(SECRET);

  const scale = await so.call('POST', '/orchestrator/default', { ...HURTLE_TEXT, 'X-OCCI-Attribute': `${HURTLE_CLIENT}, mesos.agents=2` });
  expect(scale.status, 'the same attribute twice: the last wins').to.equal(200);
  const scaled = await so.settle();
  expect([scaled[STATE], scaled['mesos.agents.active']], String(scaled[MESSAGE])).to.deep.equal(['UPDATE_COMPLETE', 2]);

  expect((await so.call('DELETE', '/orchestrator/default', { 'X-OCCI-Attribute': HURTLE_CLIENT })).status).to.equal(200);
  expect((await so.settle())[STATE]).to.equal('DELETE_COMPLETE');
  expect(await world.liveVms(name)).to.deep.equal([]);
  expect(so.output(), 'nor in the logs').to.not.contain(SECRET);
}
