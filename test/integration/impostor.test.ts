import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { orchestratorKeys } from '../../service-manager/auth/manager-key.js';
import type { SoLaunch } from '../../service-manager/runtime/runtime.js';
import { call } from '../support/http.js';
import { Impostor, IMPOSTOR_OUTPUTS } from '../support/impostor.js';
import { uidOf, useWorld, type Attributes, type InProcessSm } from '../support/pipeline.js';
import { killSo } from '../support/scenarios.js';
import { DEMO } from '../support/sm.js';
import { until } from '../support/wait.js';

/** Every state and message a tenant saw, and whether any of it came from the impostor. */
function watcher(): { seen: Attributes[]; record: (a: Attributes) => void; fooled: () => boolean } {
  const seen: Attributes[] = [];
  const claims = new Set(Object.values(IMPOSTOR_OUTPUTS).filter((v) => typeof v === 'string'));
  return {
    seen,
    record: (a) => void seen.push(a),
    fooled: () => seen.some((a) => Object.values(a).some((value) => claims.has(value as string) && value !== 'UPDATE_COMPLETE')),
  };
}

/** What the impostor got: signed reads only, none of which the real orchestrator takes again. */
async function expectNothingUsable(impostor: Impostor, realUrl: string, sm: InProcessSm): Promise<void> {
  expect(impostor.requests.length, 'the impostor was asked').to.be.greaterThan(0);
  expect(
    impostor.requests.map((r) => r.method),
    'only reads reach it: no parameters, no action',
  ).to.satisfy((methods: string[]) => methods.every((m) => m === 'GET'));
  const managerKey = readFileSync(join(sm.dir, 'manager.key'), 'utf8').trim();
  for (const request of impostor.requests) {
    expect(request.headers['x-auth-token'], 'no bearer token').to.equal(undefined);
    expect(request.headers.authorization).to.match(/^SO-HMAC-SHA256 ts=\d+, nonce=[0-9a-f]+, sig=[\w-]+$/);
    expect(JSON.stringify(request)).to.not.contain(managerKey);
  }
  const replayed = impostor.requests[0];
  const answer = await call('GET', realUrl + replayed.path, { headers: replayed.headers as Record<string, string> });
  expect(answer.status, 'a captured request is of no use against the real orchestrator').to.equal(401);
}

describe("SM against an impostor on an orchestrator's port", function () {
  this.timeout(180_000);
  const world = useWorld();

  it('never takes the answers of a process that took the port it handed out: the orchestrator moves to another port', async () => {
    const sm = await world().startSm('process');
    const impostor = new Impostor();
    const runtime = sm.sm.pipeline!.runtime;
    const start = runtime.start.bind(runtime);
    let taken: number | undefined;
    // The race a local user wins: the port is taken between the service manager's choice and the orchestrator's start.
    runtime.start = async (launch: SoLaunch) => {
      if (taken === undefined) {
        taken = launch.port;
        await impostor.listen(launch.port);
      }
      return start(launch);
    };
    try {
      const id = await sm.create(DEMO, 'mesos.agents=1');
      const { record, fooled } = watcher();
      const ready = await sm.until(
        DEMO,
        id,
        (a) => {
          record(a);
          return a['mcn.service.state'] === 'ready';
        },
        120_000,
      );
      expect(fooled(), 'the tenant never saw what the impostor claimed').to.equal(false);
      expect(ready['occi.mcn.stack.id']).to.match(/^mesos-[a-z2-7]{10}$/);
      expect(String(ready['mesos.master.url'])).to.match(/^http:\/\/127\./);
      const uid = uidOf(sm.sm, DEMO, id);
      const port = sm.sm.registry.byUid(uid)!.memo.port!;
      expect(port).to.not.equal(taken);
      const messages = (await sm.history(DEMO, id)).map((e) => e.message ?? '');
      expect(messages).to.include(
        `the service orchestrator at 127.0.0.1:${taken} could not prove its identity; starting the service orchestrator on another port`,
      );
      await expectNothingUsable(impostor, `http://127.0.0.1:${port}`, sm);
      expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
      await sm.untilGone(DEMO, id);
      expect(await world().liveVms(uid)).to.deep.equal([]);
    } finally {
      await impostor.close();
    }
  });

  it("never takes the answers of a process on a dead orchestrator's port: a new orchestrator takes over on another port", async () => {
    const sm = await world().startSm('process');
    const impostor = new Impostor();
    try {
      const id = await sm.create(DEMO, 'mesos.agents=1');
      const ready = await sm.untilState(DEMO, id, 'ready');
      const uid = uidOf(sm.sm, DEMO, id);
      await until(() => !sm.sm.pipeline!.driver.active(uid));
      const port = sm.sm.registry.byUid(uid)!.memo.port!;
      await killSo('process', sm.dir, uid);
      // The port is free once the killed process is gone.
      await until(() =>
        impostor.listen(port).then(
          () => true,
          () => false,
        ),
      );
      expect(sm.sm.pipeline!.reconciler.resync()).to.equal(1);
      const { record, fooled } = watcher();
      await sm.until(
        DEMO,
        id,
        (a) => {
          record(a);
          return a['occi.mcn.stack.state'] === 'UPDATE_COMPLETE' && sm.sm.registry.byUid(uid)!.memo.port !== port && !sm.sm.pipeline!.driver.active(uid);
        },
        120_000,
      );
      expect(fooled(), 'the tenant never saw what the impostor claimed').to.equal(false);
      const again = await sm.attributes(DEMO, id);
      expect(again!['mesos.master.url']).to.equal(ready['mesos.master.url']);
      const messages = (await sm.history(DEMO, id)).map((e) => e.message ?? '');
      expect(messages).to.include(
        `the service orchestrator at 127.0.0.1:${port} could not prove its identity; starting the service orchestrator on another port`,
      );
      const key = orchestratorKeys(Buffer.from(readFileSync(join(sm.dir, 'manager.key'), 'utf8').trim(), 'base64'))(uid, 1);
      expect(
        impostor.requests.every((r) => !JSON.stringify(r).includes(key)),
        'the orchestrator key never crossed the wire',
      ).to.equal(true);
      await expectNothingUsable(impostor, `http://127.0.0.1:${sm.sm.registry.byUid(uid)!.memo.port!}`, sm);
      expect((await sm.call('DELETE', `/mesos/${id}`, { headers: DEMO })).status).to.equal(200);
      await sm.untilGone(DEMO, id);
    } finally {
      await impostor.close();
    }
  });
});
