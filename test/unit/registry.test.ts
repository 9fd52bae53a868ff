import { expect } from 'chai';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../../lib/clock.js';
import type { Failure } from '../../service-manager/model/memo.js';
import { awaitsRetry } from '../../service-manager/lifecycle/pipeline.js';
import { IllegalTransition, type ServiceState } from '../../service-manager/model/states.js';
import { DuplicateInstance, InstanceRegistry, StaleInstance, type NewInstance } from '../../service-manager/registry/registry.js';
import { modeOf } from '../support/expect.js';
import { removeDir } from '../support/sm.js';

function instance(overrides: Partial<NewInstance> = {}): NewInstance {
  return {
    uid: 'u1',
    id: 'c1',
    tenant: 'demo',
    kind: 'mesos',
    attributes: { 'mesos.agents': 2 },
    outputs: {},
    state: 'initialise',
    stateMessage: 'accepted',
    ...overrides,
  };
}

const created = { actor: 'demo', type: 'created', state: 'initialise' } as const;

/** Takes a registry back to schema 3, as an older service manager left it. */
function toSchema3(db: Database.Database): void {
  db.exec(
    'DROP TABLE stack_events; DROP TABLE stack_resources; DROP TABLE stacks; DROP TABLE broker_bindings; DROP TABLE broker_instances; DROP INDEX instances_live_state; DROP INDEX events_by_number; DROP INDEX instances_removed; CREATE INDEX events_by_instance ON events (uid, seq); ALTER TABLE events DROP COLUMN n;',
  );
  db.exec("ALTER TABLE instances ADD COLUMN fingerprint TEXT NOT NULL DEFAULT 'f'");
  db.pragma('user_version = 3');
}

describe('SM registry', () => {
  let dir: string;
  let clock: ManualClock;
  let registry: InstanceRegistry;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'registry-'));
    clock = new ManualClock(Date.UTC(2026, 10, 1));
    registry = new InstanceRegistry(join(dir, 'sub', 'registry.db'), clock);
  });

  afterEach(() => {
    registry.close();
    removeDir(dir);
  });

  it('uses WAL mode and creates its folder', () => {
    const db = new Database(join(dir, 'sub', 'registry.db'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
    db.close();
  });

  it('stores an instance with version 1, timestamps from the clock and a created event', () => {
    const record = registry.insert(instance(), created);
    expect(record).to.include({ id: 'c1', tenant: 'demo', version: 1, createdAt: clock.now(), state: 'initialise' });
    expect(registry.events('u1')).to.deep.equal([{ seq: 1, time: clock.now(), actor: 'demo', type: 'created', state: 'initialise' }]);
  });

  it('scopes lookups by tenant and lets tenants use the same id', () => {
    registry.insert(instance(), created);
    registry.insert(instance({ uid: 'u2', tenant: 'other' }), created);
    expect(registry.find('demo', 'c1')!.uid).to.equal('u1');
    expect(registry.find('other', 'c1')!.uid).to.equal('u2');
    expect(registry.find('nobody', 'c1')).to.equal(undefined);
    expect(registry.list('demo').map((r) => r.uid)).to.deep.equal(['u1']);
    expect(registry.listAll()).to.have.length(2);
  });

  it('refuses a second live instance with the same tenant and id', () => {
    registry.insert(instance(), created);
    expect(() => registry.insert(instance({ uid: 'u2' }), created)).to.throw(DuplicateInstance);
  });

  it('applies a change only at the expected version and records its event', () => {
    registry.insert(instance(), created);
    clock.advance(1000);
    const changed = registry.change(
      'u1',
      1,
      { attributes: { 'mesos.agents': 5 }, outputs: { 'mesos.zk': 'zk://a' }, state: 'activate', stateMessage: 'starting' },
      { actor: 'service-manager', type: 'state_changed', state: 'activate', changes: { 'mesos.agents': { from: 2, to: 5 } } },
    );
    expect(changed).to.include({ version: 2, state: 'activate', stateMessage: 'starting', updatedAt: clock.now() });
    expect(changed.attributes).to.deep.equal({ 'mesos.agents': 5 });
    expect(changed.outputs).to.deep.equal({ 'mesos.zk': 'zk://a' });
    expect(() => registry.change('u1', 1, { stateMessage: 'stale' }, created)).to.throw(StaleInstance);
    expect(registry.events('u1').map((e) => e.type)).to.deep.equal(['created', 'state_changed']);
    expect(registry.events('u1')[1].changes).to.deep.equal({ 'mesos.agents': { from: 2, to: 5 } });
  });

  it('refuses state transitions the lifecycle does not allow', () => {
    registry.insert(instance(), created);
    expect(() => registry.change('u1', 1, { state: 'ready' }, created)).to.throw(IllegalTransition);
    expect(registry.find('demo', 'c1')!.version).to.equal(1);
  });

  it('remembers and clears the phase a failure happened in', () => {
    registry.insert(instance(), created);
    const failed = registry.change('u1', 1, { state: 'failed', failedPhase: 'initialise' }, created);
    expect(failed.failedPhase).to.equal('initialise');
    const retried = registry.change('u1', 2, { state: 'initialise', failedPhase: null }, created);
    expect(retried.failedPhase).to.equal(undefined);
  });

  it('leaves the previous state intact when a write fails half-way', () => {
    registry.insert(instance(), created);
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    const badEvent = { actor: 'demo', type: 'updated', changes: circular as never } as const;
    expect(() => registry.change('u1', 1, { attributes: { 'mesos.agents': 9 }, state: 'activate' }, badEvent)).to.throw(TypeError);
    const after = registry.find('demo', 'c1')!;
    expect(after).to.include({ version: 1, state: 'initialise' });
    expect(after.attributes).to.deep.equal({ 'mesos.agents': 2 });
    expect(registry.events('u1')).to.have.length(1);
  });

  it('hides removed instances but keeps the id free for reuse', () => {
    registry.insert(instance(), created);
    registry.remove('u1', 1, { actor: 'service-manager', type: 'removed' });
    expect(registry.find('demo', 'c1')).to.equal(undefined);
    expect(registry.list('demo')).to.deep.equal([]);
    expect(() => registry.remove('u1', 2, { actor: 'x', type: 'removed' })).to.throw(StaleInstance);
    registry.insert(instance({ uid: 'u2' }), created);
    expect(registry.find('demo', 'c1')!.uid).to.equal('u2');
  });

  it('keeps instances and events across a reopen', () => {
    registry.insert(instance(), created);
    registry.change('u1', 1, { state: 'activate' }, { actor: 'service-manager', type: 'state_changed', state: 'activate' });
    registry.close();
    registry = new InstanceRegistry(join(dir, 'sub', 'registry.db'), clock);
    expect(registry.find('demo', 'c1')).to.include({ state: 'activate', version: 2 });
    expect(registry.events('u1')).to.have.length(2);
  });

  it('knows since when an instance is in its state, for the phase deadlines', () => {
    registry.insert(instance(), created);
    expect(registry.byUid('u1')!.stateSince).to.equal(clock.now());
    const entered = clock.now() + 1000;
    clock.advance(1000);
    registry.change('u1', 1, { state: 'activate' }, created);
    clock.advance(1000);
    const progressed = registry.change('u1', 2, { stateMessage: 'still activating' }, created);
    expect(progressed.stateSince).to.equal(entered);
  });

  it('keeps the pipeline memo without a new version or event, and writes it with a change', () => {
    registry.insert(instance(), created);
    const noted = registry.setMemo('u1', { port: 18001, started: true });
    expect(noted).to.include({ version: 1 });
    expect(noted.memo).to.deep.equal({ port: 18001, started: true });
    expect(registry.events('u1')).to.have.length(1);
    const failed = registry.change('u1', 1, { state: 'failed', memo: { ...noted.memo, failure: { cause: 'x', vms: 'kept' } } }, created);
    expect(failed.memo).to.deep.equal({ port: 18001, started: true, failure: { cause: 'x', vms: 'kept' } });
    expect(registry.change('u1', 2, { stateMessage: 'y' }, created).memo, 'a change without a memo keeps it').to.deep.equal(failed.memo);
    registry.remove('u1', 3, { actor: 'service-manager', type: 'removed' });
    expect(() => registry.setMemo('u1', {})).to.throw(StaleInstance);
  });

  it("keeps a broker platform's record and bindings with the instance, and drops them when the instance is pruned", () => {
    registry.insert(instance(), created);
    registry.setBrokerRecord('u1', { serviceId: 's', planId: 'p1', parameters: { agents: 2 }, operation: 'provision' });
    registry.setBrokerRecord('u1', { serviceId: 's', planId: 'p2', parameters: { agents: 3 }, operation: 'update' });
    expect(registry.brokerRecord('u1')).to.deep.equal({ serviceId: 's', planId: 'p2', parameters: { agents: 3 }, operation: 'update' });
    expect(registry.addBinding('u1', { bindingId: 'b1', parameters: {} })).to.deep.equal({ bindingId: 'b1', parameters: {}, createdAt: clock.now() });
    expect(() => registry.addBinding('u1', { bindingId: 'b1', parameters: {} }), 'one binding per id').to.throw();
    expect(registry.binding('u1', 'b1')?.bindingId).to.equal('b1');
    expect([registry.removeBinding('u1', 'b1'), registry.removeBinding('u1', 'b1')]).to.deep.equal([true, false]);
    registry.addBinding('u1', { bindingId: 'b2', parameters: {} });
    expect(registry.removedBrokerInstance('demo', 'c1')).to.equal(false);
    registry.remove('u1', 1, { actor: 'service-manager', type: 'removed' });
    expect(registry.removedBrokerInstance('demo', 'c1')).to.equal(true);
    clock.advance(10_000);
    expect(registry.prune(clock.now())).to.equal(1);
    expect([registry.brokerRecord('u1'), registry.binding('u1', 'b2'), registry.removedBrokerInstance('demo', 'c1')]).to.deep.equal([
      undefined,
      undefined,
      false,
    ]);
  });

  it('keeps stacks, their resources and events across reopens, and tells which have an operation under way', () => {
    const { stacks } = registry;
    const base = {
      tenant: 'demo',
      template: 'Resources: {}',
      parameters: { Agents: '2' },
      tags: { owner: 'me' },
      reason: 'User Initiated',
      onFailure: 'ROLLBACK' as const,
      createdAt: 5,
      since: 5,
    };
    stacks.insert({ ...base, stackId: 'arn:1', name: 'web', status: 'CREATE_IN_PROGRESS', timeoutMs: 60_000, clientToken: 't1' });
    stacks.insert({ ...base, stackId: 'arn:2', name: 'old', status: 'CREATE_COMPLETE' });
    expect(() => stacks.insert({ ...base, stackId: 'arn:3', name: 'web', status: 'CREATE_IN_PROGRESS' }), 'one live stack per name').to.throw();
    stacks.putResource('arn:1', {
      logicalId: 'Cluster',
      type: 'CloudStack::Mesos::Cluster',
      physicalId: 'web-Cluster-1',
      uid: 'u1',
      status: 'CREATE_IN_PROGRESS',
      reason: '',
    });
    stacks.addEvent('arn:1', {
      eventId: 'e1',
      logicalId: 'web',
      physicalId: 'arn:1',
      type: 'AWS::CloudFormation::Stack',
      status: 'CREATE_IN_PROGRESS',
      reason: 'User Initiated',
    });
    clock.advance(1000);
    stacks.setStatus('arn:2', 'DELETE_COMPLETE', '', true);
    registry.close();
    registry = new InstanceRegistry(join(dir, 'sub', 'registry.db'), clock);
    expect(registry.stacks.unsettled().map((s) => s.name)).to.deep.equal(['web']);
    expect(registry.stacks.live('demo', 'web')).to.include({ stackId: 'arn:1', timeoutMs: 60_000, clientToken: 't1' });
    expect(registry.stacks.byToken('demo', 't1')?.stackId).to.equal('arn:1');
    expect(registry.stacks.live('demo', 'old'), 'a deleted stack is found by its id only').to.equal(undefined);
    expect(registry.stacks.byId('demo', 'arn:2')).to.include({ status: 'DELETE_COMPLETE', deletedAt: clock.now(), since: clock.now() });
    expect(registry.stacks.byId('other', 'arn:2'), "another tenant's").to.equal(undefined);
    expect(registry.stacks.resources('arn:1')).to.deep.equal([
      {
        logicalId: 'Cluster',
        type: 'CloudStack::Mesos::Cluster',
        physicalId: 'web-Cluster-1',
        uid: 'u1',
        status: 'CREATE_IN_PROGRESS',
        reason: '',
        updatedAt: clock.now() - 1000,
      },
    ]);
    expect(registry.stacks.events('arn:1').map((e) => e.eventId)).to.deep.equal(['e1']);
  });

  it('makes the service manager id once and keeps it across reopens', () => {
    const id = registry.managerId();
    expect(id).to.match(/^[0-9a-f]{12}$/);
    registry.close();
    registry = new InstanceRegistry(join(dir, 'sub', 'registry.db'), clock);
    expect(registry.managerId()).to.equal(id);
  });

  it('upgrades a registry of the first schema, keeping its instances', () => {
    registry.close();
    const path = join(dir, 'old.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE instances (uid TEXT PRIMARY KEY, id TEXT NOT NULL, tenant TEXT NOT NULL, kind TEXT NOT NULL,
      attributes TEXT NOT NULL, outputs TEXT NOT NULL, state TEXT NOT NULL, state_message TEXT NOT NULL, failed_phase TEXT,
      fingerprint TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, removed_at INTEGER, version INTEGER NOT NULL);
      CREATE UNIQUE INDEX instances_live_id ON instances (tenant, id) WHERE removed_at IS NULL;
      CREATE INDEX instances_live ON instances (removed_at, created_at);
      CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL REFERENCES instances (uid), time INTEGER NOT NULL,
      actor TEXT NOT NULL, type TEXT NOT NULL, state TEXT, message TEXT, changes TEXT);
      CREATE INDEX events_by_instance ON events (uid, seq);
      INSERT INTO instances VALUES ('u9', 'old', 'demo', 'mesos', '{}', '{}', 'ready', 'ready', NULL, 'f', 5, 7, NULL, 3);`);
    db.pragma('user_version = 1');
    db.close();
    registry = new InstanceRegistry(path, clock);
    expect(registry.find('demo', 'old')).to.include({ state: 'ready', stateSince: 7, version: 3 });
    expect(registry.find('demo', 'old')!.memo).to.deep.equal({});
  });

  it('drops the orchestrator tokens older versions kept in the memo', () => {
    registry.insert(instance(), created);
    registry.setMemo('u1', { port: 18001, token: 'bearer-secret' } as never);
    registry.close();
    const db = new Database(join(dir, 'sub', 'registry.db'));
    toSchema3(db);
    db.pragma('user_version = 2');
    db.close();
    registry = new InstanceRegistry(join(dir, 'sub', 'registry.db'), clock);
    expect(registry.byUid('u1')!.memo).to.deep.equal({ port: 18001 });
  });

  it("keeps its folder and files (database, WAL, shared memory) to the service manager's user", () => {
    registry.insert(instance(), created);
    registry.setMemo('u1', { port: 18001 });
    const path = join(dir, 'sub', 'registry.db');
    expect([modeOf(join(dir, 'sub')), modeOf(path), modeOf(`${path}-wal`), modeOf(`${path}-shm`)]).to.deep.equal(['700', '600', '600', '600']);
    registry.close();
    chmodSync(path, 0o644);
    registry = new InstanceRegistry(path, clock);
    expect(modeOf(path), 'an older, readable registry is narrowed').to.equal('600');
  });

  it('keeps a history within its bound: the oldest progress events fold into one, state changes and numbers stay', () => {
    registry.close();
    registry = new InstanceRegistry(join(dir, 'sub', 'registry.db'), clock, { maxEvents: 100 });
    registry.insert(instance(), created);
    for (let i = 2; i <= 400; i++) {
      registry.addEvent(
        'u1',
        i % 40 === 0
          ? { actor: 'demo', type: 'state_changed', state: 'ready', message: `change ${i}` }
          : { actor: 'service-manager', type: 'progress', message: `step ${i}` },
      );
    }
    const events = registry.events('u1');
    expect(events.length).to.be.within(100, 100 + 50);
    expect(events[0]).to.include({ seq: 1, type: 'created' });
    expect(events[1]).to.include({ seq: 2, type: 'folded' });
    const folded = Number(/^(\d+) older progress events were folded to keep the history within 100 events$/.exec(events[1].message!)![1]);
    expect(folded + events.length - 1, 'the marker stands for the events it replaced').to.equal(400);
    expect(events.filter((e) => e.type === 'state_changed').map((e) => e.seq)).to.deep.equal(Array.from({ length: 10 }, (_, i) => (i + 1) * 40));
    expect(events.at(-1)).to.include({ seq: 400, message: 'change 400' });
    const seqs = events.map((e) => e.seq);
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
    expect(registry.eventPage('u1', 398, 10).events.map((e) => e.seq)).to.deep.equal([399, 400]);
  });

  it('numbers the events of an older registry per instance when it upgrades', () => {
    registry.insert(instance(), created);
    registry.insert(instance({ uid: 'u2', id: 'c2' }), created);
    registry.addEvent('u1', { actor: 'demo', type: 'progress', message: 'a' });
    registry.close();
    const db = new Database(join(dir, 'sub', 'registry.db'));
    toSchema3(db);
    db.close();
    registry = new InstanceRegistry(join(dir, 'sub', 'registry.db'), clock);
    expect(registry.events('u1').map((e) => e.seq)).to.deep.equal([1, 2]);
    expect(registry.events('u2').map((e) => e.seq)).to.deep.equal([1]);
  });

  it('prunes instances removed before a time, with their histories, and nothing else', async () => {
    registry.insert(instance(), created);
    registry.insert(instance({ uid: 'u2', id: 'c2' }), created);
    registry.remove('u1', 1, { actor: 'service-manager', type: 'removed' });
    clock.advance(10_000);
    registry.remove('u2', 1, { actor: 'service-manager', type: 'removed' });
    registry.insert(instance({ uid: 'u3', id: 'c3' }), created);
    expect(registry.prune(clock.now() - 5_000)).to.equal(1);
    expect(registry.prune(clock.now() - 5_000)).to.equal(0);
    expect(registry.find('demo', 'c3')).to.not.equal(undefined);
    await registry.committed();
    const db = new Database(join(dir, 'sub', 'registry.db'), { readonly: true });
    expect(db.prepare('SELECT uid FROM instances ORDER BY uid').all()).to.deep.equal([{ uid: 'u2' }, { uid: 'u3' }]);
    expect(db.prepare('SELECT DISTINCT uid FROM events ORDER BY uid').all()).to.deep.equal([{ uid: 'u2' }, { uid: 'u3' }]);
    db.close();
  });

  it('answers the periodic checks and listings from the columns they need, live instances only, oldest first', () => {
    registry.insert(instance(), created);
    clock.advance(1);
    registry.insert(instance({ uid: 'u2', id: 'c2', attributes: { 'mesos.autoscale': false } }), created);
    clock.advance(1);
    const third = registry.insert(instance({ uid: 'u3', id: 'c3', tenant: 'other' }), created);
    registry.setMemo('u1', { port: 18001 });
    registry.setMemo('u2', { port: 18002 });
    const failed = registry.change('u2', 1, { state: 'failed' }, { actor: 'service-manager', type: 'state_changed', state: 'failed' });
    registry.setMemo('u2', { ...failed.memo, failure: { cause: 'x', vms: 'removed' } });
    registry.remove('u3', third.version, { actor: 'demo', type: 'removed' });
    expect(registry.liveStates()).to.deep.equal([
      { uid: 'u1', state: 'initialise' },
      { uid: 'u2', state: 'failed' },
    ]);
    expect(registry.keyPage('demo', undefined, undefined)).to.deep.equal({
      keys: [
        { uid: 'u1', id: 'c1', createdAt: clock.now() - 2, version: 1 },
        { uid: 'u2', id: 'c2', createdAt: clock.now() - 1, version: 2 },
      ],
      more: false,
    });
    expect(registry.keyPage('other', undefined, undefined).keys, 'removed').to.deep.equal([]);
    expect(
      registry.byUids(['u2', 'u3', 'u9']).map((r) => r.uid),
      'live ones only',
    ).to.deep.equal(['u2']);
    expect(registry.withAttribute('mesos.autoscale').map((r) => r.uid)).to.deep.equal(['u2']);
    expect(registry.recordedPorts()).to.deep.equal([
      { port: 18001, state: 'initialise' },
      { port: 18002, state: 'failed', failedVms: 'removed' },
    ]);
  });

  it('picks the failed instances awaiting a retry exactly as the pipeline tells them', () => {
    const cases: Array<[ServiceState | undefined, Failure['vms'] | undefined]> = [
      ['destroy', undefined],
      ['destroy', 'kept'],
      ['deploy', 'removing'],
      ['deploy', 'removed'],
      ['deploy', 'kept'],
      ['initialise', 'none'],
      [undefined, undefined],
    ];
    for (const [i, [failedPhase, vms]] of cases.entries()) {
      const uid = `u${i}`;
      const made = registry.insert(instance({ uid, id: `c${i}` }), created);
      registry.change(
        uid,
        made.version,
        { state: 'failed', ...(failedPhase ? { failedPhase } : {}) },
        { actor: 'service-manager', type: 'state_changed', state: 'failed' },
      );
      if (vms) registry.setMemo(uid, { failure: { cause: 'x', vms } });
    }
    registry.insert(instance({ uid: 'working', id: 'working' }), created);
    const expected = cases.flatMap(([failedPhase, vms], i) => (awaitsRetry(failedPhase, vms) ? [`u${i}`] : []));
    expect(expected).to.deep.equal(['u0', 'u1', 'u2']);
    expect(registry.awaitingRetry()).to.deep.equal(expected);
  });

  it("lists a tenant's instances in pages that neither skip nor repeat one when instances come and go between pages", () => {
    for (const [i, id] of ['b', 'a', 'c', 'd'].entries()) {
      registry.insert(instance({ uid: `u${i}`, id }), created);
      if (id !== 'b') clock.advance(1);
    }
    const first = registry.keyPage('demo', undefined, 2);
    expect([first.keys.map((k) => k.id), first.more], 'same creation time: by id').to.deep.equal([['a', 'b'], true]);
    registry.remove('u1', 1, { actor: 'demo', type: 'removed' });
    const second = registry.keyPage('demo', first.keys.at(-1), 2);
    expect([second.keys.map((k) => k.id), second.more]).to.deep.equal([['c', 'd'], false]);
    expect(registry.keyPage('demo', undefined, 4).more, 'exactly a page').to.equal(false);
  });

  it('commits the writes of one turn of the event loop together, and says when they are durable', async () => {
    const reader = new Database(join(dir, 'sub', 'registry.db'), { readonly: true });
    const stored = (): number => (reader.prepare('SELECT count(*) AS n FROM instances').get() as { n: number }).n;
    try {
      for (let i = 1; i <= 5; i++) registry.insert(instance({ uid: `u${i}`, id: `c${i}` }), created);
      expect(registry.list('demo'), 'seen by reads at once').to.have.length(5);
      expect(stored(), 'not yet committed').to.equal(0);
      await registry.committed();
      expect(stored()).to.equal(5);
      registry.setMemo('u1', { port: 18001 });
      const second = registry.committed();
      expect(stored()).to.equal(5);
      await second;
      expect((reader.prepare("SELECT memo FROM instances WHERE uid = 'u1'").get() as { memo: string }).memo).to.equal('{"port":18001}');
      expect(await registry.committed(), 'nothing open').to.equal(undefined);
    } finally {
      reader.close();
    }
  });

  it('undoes only the write that fails, not the others of its group', async () => {
    registry.insert(instance(), created);
    expect(() => registry.insert(instance({ uid: 'u2' }), created)).to.throw(DuplicateInstance);
    expect(() => registry.change('u1', 7, { state: 'activate' }, { actor: 'demo', type: 'state_changed' })).to.throw(StaleInstance);
    registry.insert(instance({ uid: 'u3', id: 'c3' }), created);
    await registry.committed();
    registry.close();
    registry = new InstanceRegistry(join(dir, 'sub', 'registry.db'), clock);
    expect(registry.list('demo').map((r) => [r.uid, r.version])).to.deep.equal([
      ['u1', 1],
      ['u3', 1],
    ]);
    expect(registry.events('u1')).to.have.length(1);
  });

  it('undoes a whole group whose commit fails, rejects those who wait, and tells listeners each instance as it is', async () => {
    registry.insert(instance(), created);
    await registry.committed();
    const heard: Array<[string, number | undefined]> = [];
    registry.onWrite((uid, now) => heard.push([uid, now?.version]));
    // The registry's own connection, so the broken row is part of the open group; the check is put off to the commit.
    const own = (registry as unknown as { db: Database.Database }).db;
    registry.change('u1', 1, { stateMessage: 'changed' }, { actor: 'demo', type: 'updated' });
    registry.insert(instance({ uid: 'u2', id: 'c2' }), created);
    own.pragma('defer_foreign_keys = ON');
    own.prepare("INSERT INTO events (uid, n, time, actor, type) VALUES ('ghost', 1, 0, 'demo', 'progress')").run();
    const failed = await registry.committed().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(String(failed)).to.match(/FOREIGN KEY/);
    expect(heard).to.deep.equal([
      ['u1', 2],
      ['u2', 1],
      ['u1', 1],
      ['u2', undefined],
    ]);
    expect(registry.byUid('u1')).to.include({ version: 1, stateMessage: 'accepted' });
    expect(registry.byUid('u2')).to.equal(undefined);
    registry.insert(instance({ uid: 'u3', id: 'c3' }), created);
    await registry.committed();
    expect(
      registry.list('demo').map((r) => r.uid),
      'the next group commits',
    ).to.deep.equal(['u1', 'u3']);
  });

  it('refuses a registry written by a newer schema', () => {
    registry.close();
    const db = new Database(join(dir, 'sub', 'registry.db'));
    db.pragma('user_version = 99');
    db.close();
    expect(() => new InstanceRegistry(join(dir, 'sub', 'registry.db'), clock)).to.throw(/newer/);
    registry = new InstanceRegistry(':memory:', clock);
  });
});
