import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Clock } from '../../lib/clock.js';
import { privateFile } from '../../lib/private-files.js';
import { asError, ConflictingState } from '../../lib/errors.js';
import { STACK_TABLES, StackTable } from './stacks.js';
import type { Attributes, Changes } from '../service-type/attributes.js';
import type { Failure, PipelineMemo } from '../model/memo.js';
import { canTransition, IllegalTransition, isState, type ServiceState } from '../model/states.js';

/** One service instance as the registry keeps it. */
export interface InstanceRecord {
  /** Internal key, unique forever; names what runs for the instance. */
  readonly uid: string;
  /** The id in the instance's URL, unique among the tenant's live instances. */
  readonly id: string;
  readonly tenant: string;
  readonly kind: string;
  /** Input attributes as stored (see service-type/attributes). */
  readonly attributes: Attributes;
  /** Output attributes set by the service, other than state and message. */
  readonly outputs: Attributes;
  readonly state: ServiceState;
  readonly stateMessage: string;
  /** When the instance entered its state, for the phase deadlines. */
  readonly stateSince: number;
  /** The state a failure happened in, so a retry knows where to resume. */
  readonly failedPhase?: ServiceState;
  /** The pipeline's own bookkeeping; never rendered. */
  readonly memo: PipelineMemo;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly version: number;
}

export type EventType =
  | 'created'
  | 'updated'
  | 'action'
  | 'delete_requested'
  | 'state_changed'
  | 'progress'
  | 'outputs_changed'
  /** What the orchestrator's watch of a ready cluster did: degraded, healed, a node replaced, remediation stopped, … */
  | 'health'
  /** Why the autoscaler keeps the agents as they are while the load asks otherwise. */
  | 'autoscale'
  /** Stands for older progress events dropped to keep the history bounded. */
  | 'folded'
  | 'removed';

export interface InstanceEvent {
  /** The event's number in its instance's history: 1, 2, … and never reused, even when older events are folded. */
  readonly seq: number;
  readonly time: number;
  /** The tenant whose request caused it, or `service-manager`. */
  readonly actor: string;
  readonly type: EventType;
  readonly state?: ServiceState;
  readonly message?: string;
  readonly changes?: Changes;
}

export type NewEvent = Omit<InstanceEvent, 'seq' | 'time'>;

export type NewInstance = Omit<InstanceRecord, 'createdAt' | 'updatedAt' | 'version' | 'stateSince' | 'memo'>;

export interface InstancePatch {
  readonly attributes?: Attributes;
  readonly outputs?: Attributes;
  readonly state?: ServiceState;
  readonly stateMessage?: string;
  /** Null clears it. */
  readonly failedPhase?: ServiceState | null;
  readonly memo?: PipelineMemo;
}

/** The instance changed since the caller read it. */
export class StaleInstance extends ConflictingState {
  constructor(id: string) {
    super(`Instance ${id} was changed by another request; read it again and retry.`);
  }
}

export class DuplicateInstance extends ConflictingState {
  constructor(id: string) {
    super(`Instance ${id} already exists.`);
  }
}

export const SERVICE_MANAGER_ACTOR = 'service-manager';

const SCHEMA_VERSION = 8;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE instances (
     uid TEXT PRIMARY KEY,
     id TEXT NOT NULL,
     tenant TEXT NOT NULL,
     kind TEXT NOT NULL,
     attributes TEXT NOT NULL,
     outputs TEXT NOT NULL,
     state TEXT NOT NULL,
     state_message TEXT NOT NULL,
     failed_phase TEXT,
     fingerprint TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     removed_at INTEGER,
     version INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX instances_live_id ON instances (tenant, id) WHERE removed_at IS NULL;
   CREATE INDEX instances_live ON instances (removed_at, created_at);
   CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     uid TEXT NOT NULL REFERENCES instances (uid),
     time INTEGER NOT NULL,
     actor TEXT NOT NULL,
     type TEXT NOT NULL,
     state TEXT,
     message TEXT,
     changes TEXT
   );
   CREATE INDEX events_by_instance ON events (uid, seq);`,
  `ALTER TABLE instances ADD COLUMN state_since INTEGER;
   UPDATE instances SET state_since = updated_at;
   ALTER TABLE instances ADD COLUMN memo TEXT NOT NULL DEFAULT '{}';
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // Orchestrators' bearer tokens were kept in the memo; their keys are derived from the manager key now.
  `UPDATE instances SET memo = json_remove(memo, '$.token') WHERE json_extract(memo, '$.token') IS NOT NULL;`,
  // Events get a number per instance, so a page of one history neither reveals others' activity nor shifts when old events are folded.
  `ALTER TABLE events ADD COLUMN n INTEGER;
   UPDATE events SET n = numbered.rn FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY uid ORDER BY seq) AS rn FROM events) AS numbered
     WHERE events.seq = numbered.seq;
   DROP INDEX events_by_instance;
   CREATE UNIQUE INDEX events_by_number ON events (uid, n);
   CREATE INDEX instances_removed ON instances (removed_at) WHERE removed_at IS NOT NULL;`,
  // A PUT of an existing instance is a replace now, compared attribute by attribute: no hash of the create is kept.
  `ALTER TABLE instances DROP COLUMN fingerprint;`,
  // Periodic checks pick instances by state.
  `CREATE INDEX instances_live_state ON instances (state) WHERE removed_at IS NULL;`,
  // Instances a service broker platform made, with their plan, parameters and last operation, and their bindings.
  `CREATE TABLE broker_instances (
     uid TEXT PRIMARY KEY REFERENCES instances (uid) ON DELETE CASCADE,
     service_id TEXT NOT NULL,
     plan_id TEXT NOT NULL,
     parameters TEXT NOT NULL,
     operation TEXT NOT NULL
   );
   CREATE TABLE broker_bindings (
     uid TEXT NOT NULL REFERENCES instances (uid) ON DELETE CASCADE,
     binding_id TEXT NOT NULL,
     parameters TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (uid, binding_id)
   );`,
  // Stacks of the CloudFormation-compatible API.
  STACK_TABLES,
];

/** Instances kept in memory: enough for every instance a busy dashboard polls. */
const RECENT_RECORDS = 4096;

/** Live instances by uid and by tenant and id, the oldest kept dropped first when full. */
class RecentRecords {
  private readonly byUids = new Map<string, InstanceRecord>();
  private readonly uids = new Map<string, string>();

  constructor(private readonly limit: number) {}

  byUid(uid: string): InstanceRecord | undefined {
    return this.byUids.get(uid);
  }

  find(tenant: string, id: string): InstanceRecord | undefined {
    const uid = this.uids.get(keyOf(tenant, id));
    return uid === undefined ? undefined : this.byUids.get(uid);
  }

  keep(record: InstanceRecord): void {
    this.drop(record.uid);
    if (this.byUids.size >= this.limit) this.drop(this.byUids.keys().next().value!);
    this.byUids.set(record.uid, record);
    this.uids.set(keyOf(record.tenant, record.id), record.uid);
  }

  drop(uid: string): void {
    const record = this.byUids.get(uid);
    if (!record) return;
    this.byUids.delete(uid);
    this.uids.delete(keyOf(record.tenant, record.id));
  }

  clear(): void {
    this.byUids.clear();
    this.uids.clear();
  }
}

function keyOf(tenant: string, id: string): string {
  return `${tenant}\n${id}`;
}

/** How an instance's history is kept bounded. */
/** What a service broker platform asked of an instance. */
export interface BrokerRecord {
  readonly serviceId: string;
  readonly planId: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  /** The last operation the platform started on it. */
  readonly operation: 'provision' | 'update' | 'deprovision';
}

export interface BindingRecord {
  readonly bindingId: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
}

export interface HistoryLimits {
  /** Events kept per instance; beyond it the oldest progress events are folded into one. State changes are always kept. */
  readonly maxEvents: number;
}

export const DEFAULT_HISTORY: HistoryLimits = { maxEvents: 1000 };

/** Event types that tell what an instance went through and are never folded. */
const KEPT_TYPES = ['created', 'state_changed', 'delete_requested', 'action', 'removed', 'folded'];
/** Folding is looked at once every this many events of an instance. */
const FOLD_EVERY = 50;

/** One page of a history: events after a number, oldest first. */
export interface EventPage {
  readonly events: InstanceEvent[];
  /** More events follow the last one. */
  readonly more: boolean;
}

interface InstanceRow {
  uid: string;
  id: string;
  tenant: string;
  kind: string;
  attributes: string;
  outputs: string;
  state: string;
  state_message: string;
  state_since: number;
  failed_phase: string | null;
  memo: string;
  created_at: number;
  updated_at: number;
  version: number;
}

interface EventRow {
  n: number;
  time: number;
  actor: string;
  type: EventType;
  state: string | null;
  message: string | null;
  changes: string | null;
}

/** The writes of one turn of the event loop, committed together. */
interface WriteGroup {
  readonly committed: Promise<void>;
  readonly settle: (error?: Error) => void;
  /** Instances written to, told again of their state if the group is rolled back. */
  readonly touched: Set<string>;
}

/**
 * The durable registry of service instances and their history, in SQLite
 * (WAL mode). Each change and its event are written in one transaction, so a
 * failed write leaves the previous state intact. Removed instances are kept
 * as tombstones with their events; they are invisible to every query here.
 *
 * Writes are group-committed: the first write after a commit opens a
 * transaction that every write of the same turn of the event loop joins (each
 * in a savepoint of its own), and it commits at the next turn. One commit then
 * carries the creates of many concurrent requests. A write is seen by reads at
 * once but durable only once `committed()` resolves, so whoever acknowledges a
 * write waits for that.
 */
export class InstanceRegistry {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly writeListeners: Array<(uid: string, now: InstanceRecord | undefined) => void> = [];
  private group: WriteGroup | undefined;
  /** Set while a write runs: its reads see the write's own changes, which may yet be undone, so they are not kept. */
  private writing = false;
  private readonly recent = new RecentRecords(RECENT_RECORDS);
  /** Stacks of the CloudFormation-compatible API, written in the same commits as instances. */
  readonly stacks: StackTable;

  constructor(
    path: string,
    clock: Clock,
    private readonly history: HistoryLimits = DEFAULT_HISTORY,
  ) {
    // Only the service manager's user may read it: the WAL and shared-memory files take the database file's mode.
    if (path !== ':memory:') privateFiles(path);
    this.db = new Database(path);
    this.clock = clock;
    this.db.pragma('journal_mode = WAL');
    // With WAL, NORMAL loses no committed transaction when the process dies (the log is written before a commit
    // returns); only a power cut may cost the last ones. It saves an fsync per write.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    this.sql = prepareStatements(this.db);
    this.stacks = new StackTable(this.db, (apply) => this.write(apply), clock);
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(`registry schema version ${current} is newer than this service manager understands`);
    }
    this.db.transaction(() => {
      for (let v = current; v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  close(): void {
    this.commit();
    this.db.close();
  }

  /** Resolves once every write made so far is durable; rejects if their commit failed (they are then undone). */
  committed(): Promise<void> {
    return this.group?.committed ?? Promise.resolve();
  }

  /** Runs a write in the open group (opening one if none is), undoing it alone if it throws. */
  private write<T>(apply: () => T): T {
    if (!this.group) this.open();
    this.writing = true;
    try {
      return this.db.transaction(apply)();
    } finally {
      this.writing = false;
    }
  }

  private open(): void {
    this.sql.begin.run();
    let settle!: (error?: Error) => void;
    const committed = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // A group nobody waits for must not fail as an unhandled rejection; those who wait still see the error.
    committed.catch(() => undefined);
    this.group = { committed, settle, touched: new Set() };
    setImmediate(() => this.commit());
  }

  private commit(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    try {
      this.sql.commit.run();
    } catch (error) {
      if (this.db.inTransaction) this.sql.rollback.run();
      this.recent.clear();
      // Listeners heard of writes that are gone now: they hear of each instance again as it is.
      for (const uid of group.touched) this.wrote(uid, this.byUid(uid));
      group.settle(asError(error));
      return;
    }
    group.settle();
  }

  /**
   * Hears of every write to an instance as it is made, with the instance as it
   * is now (undefined once removed); should its group's commit fail, hears of
   * the instance again as it is after the rollback.
   */
  onWrite(listener: (uid: string, now: InstanceRecord | undefined) => void): void {
    this.writeListeners.push(listener);
  }

  private wrote<T extends InstanceRecord | undefined>(uid: string, record: T): T {
    this.group?.touched.add(uid);
    if (record) this.recent.keep(record);
    else this.recent.drop(uid);
    for (const listener of this.writeListeners) listener(uid, record);
    return record;
  }

  insert(instance: NewInstance, event: NewEvent): InstanceRecord {
    const now = this.clock.now();
    const record = this.write(() => {
      if (this.find(instance.tenant, instance.id)) throw new DuplicateInstance(instance.id);
      this.sql.insert.run({
        ...instance,
        attributes: JSON.stringify(instance.attributes),
        outputs: JSON.stringify(instance.outputs),
        failedPhase: instance.failedPhase ?? null,
        now,
      });
      this.appendEvent(instance.uid, now, event);
      return this.byUid(instance.uid)!;
    });
    return this.wrote(record.uid, record);
  }

  /** A live instance of a tenant by its id. */
  find(tenant: string, id: string): InstanceRecord | undefined {
    if (this.writing) return this.fresh(this.sql.find.get(tenant, id));
    return this.recent.find(tenant, id) ?? this.kept(this.sql.find.get(tenant, id));
  }

  byUid(uid: string): InstanceRecord | undefined {
    if (this.writing) return this.fresh(this.sql.byUid.get(uid));
    return this.recent.byUid(uid) ?? this.kept(this.sql.byUid.get(uid));
  }

  private fresh(row: InstanceRow | undefined): InstanceRecord | undefined {
    return row && toRecord(row);
  }

  private kept(row: InstanceRow | undefined): InstanceRecord | undefined {
    const record = this.fresh(row);
    if (record) this.recent.keep(record);
    return record;
  }

  /** A tenant's live instances, oldest first. */
  list(tenant: string): InstanceRecord[] {
    return this.sql.list.all(tenant).map(toRecord);
  }

  /**
   * A page of a tenant's live instances, oldest first, after a cursor (from
   * the first without one) and at most `limit` of them: only where each is in
   * the order and its uid and version, without reading it whole.
   */
  keyPage(tenant: string, after: ListingCursor | undefined, limit: number | undefined): { keys: InstanceKey[]; more: boolean } {
    const rows = this.sql.keyPage.all(...pageArguments(tenant, after, limit));
    const more = limit !== undefined && rows.length > limit;
    return { keys: (more ? rows.slice(0, limit) : rows).map((row) => ({ uid: row.uid, id: row.id, createdAt: row.created_at, version: row.version })), more };
  }

  /** The live instances among these uids, in no particular order. */
  byUids(uids: readonly string[]): InstanceRecord[] {
    return uids.length === 0 ? [] : this.sql.byUids.all(JSON.stringify(uids)).map(toRecord);
  }

  /** Every live instance of every tenant, oldest first. */
  listAll(): InstanceRecord[] {
    return this.sql.listAll.all().map(toRecord);
  }

  /** How many live instances each tenant has in each state. */
  stateCounts(): Array<{ readonly state: ServiceState; readonly tenant: string; readonly count: number }> {
    return this.sql.stateCounts.all().map((row) => ({ state: checkedState(row.state), tenant: row.tenant, count: row.count }));
  }

  /** The uid and state of every live instance, oldest first, without reading whole records: what a restart picks up again. */
  liveStates(): Array<{ readonly uid: string; readonly state: ServiceState }> {
    return this.sql.liveStates.all().map((row) => ({ uid: row.uid, state: checkedState(row.state) }));
  }

  /** The uids of the live instances in these states, oldest first, read through the state index. */
  inStates(states: readonly ServiceState[]): string[] {
    return this.sql.inStates.all(JSON.stringify(states)).map((row) => row.uid);
  }

  /**
   * The failed instances with something left to try again (a teardown, or
   * the clean-up of their VMs), oldest first: the rows `awaitsRetry` accepts,
   * picked by the database so the many failed instances kept for debugging
   * are never read.
   */
  awaitingRetry(): string[] {
    return this.sql.awaitingRetry.all().map((row) => row.uid);
  }

  /** Live instances whose stored attributes name this attribute, oldest first. */
  withAttribute(name: string): InstanceRecord[] {
    return this.sql.withAttribute.all(jsonPath(name)).map(toRecord);
  }

  /** What a tenant's live instances hold, for admission: their inputs, states and what a failure left of their VMs. */
  holdings(
    tenant: string,
  ): Array<{ readonly uid: string; readonly attributes: Attributes; readonly state: ServiceState; readonly failedVms?: Failure['vms'] }> {
    return this.sql.holdings.all(tenant).map((row) => ({
      uid: row.uid,
      attributes: JSON.parse(row.attributes) as Attributes,
      state: checkedState(row.state),
      ...(row.vms === null ? {} : { failedVms: row.vms as Failure['vms'] }),
    }));
  }

  /** The orchestrator ports recorded in live instances' memos, with what the pipeline needs to tell whether one is still held. */
  recordedPorts(): Array<{ readonly port: number; readonly state: ServiceState; readonly failedVms?: Failure['vms'] }> {
    return this.sql.recordedPorts
      .all()
      .map((row) => ({ port: row.port, state: checkedState(row.state), ...(row.vms === null ? {} : { failedVms: row.vms as Failure['vms'] }) }));
  }

  /** Writes and commits the time: resolves once the registry has shown it still takes writes. */
  async proveWritable(): Promise<void> {
    this.write(() => this.sql.markProbe.run(String(this.clock.now())));
    await this.committed();
  }

  /** This service manager's id, made once and kept with its registry; it labels what the SM owns. */
  managerId(): string {
    const existing = this.sql.meta.get('manager_id');
    if (existing) return existing.value;
    const id = randomBytes(6).toString('hex');
    this.write(() => this.sql.setMeta.run('manager_id', id));
    return this.sql.meta.get('manager_id')!.value;
  }

  /**
   * Replaces the pipeline's memo. It is the pipeline's alone, so it neither
   * bumps the version clients race on nor adds to the history.
   */
  setMemo(uid: string, memo: PipelineMemo): InstanceRecord {
    return this.wrote(
      uid,
      this.write(() => this.storeMemo(uid, memo)),
    );
  }

  private storeMemo(uid: string, memo: PipelineMemo): InstanceRecord {
    const result = this.sql.setMemo.run(JSON.stringify(memo), uid);
    if (result.changes !== 1) throw new StaleInstance(uid);
    return this.byUid(uid)!;
  }

  /**
   * Adds events the pipeline learnt of, with the memo that remembers it did,
   * in one transaction; like the memo, they change nothing clients race on.
   */
  recordEvents(uid: string, events: readonly NewEvent[], memo: PipelineMemo): InstanceRecord {
    const now = this.clock.now();
    const record = this.write(() => {
      this.storeMemo(uid, memo);
      for (const event of events) this.appendEvent(uid, now, event);
      return this.byUid(uid)!;
    });
    return this.wrote(uid, record);
  }

  /** Adds an event that changes nothing of the instance, such as why the autoscaler holds. */
  addEvent(uid: string, event: NewEvent): void {
    if (!this.byUid(uid)) throw new StaleInstance(uid);
    this.write(() => this.appendEvent(uid, this.clock.now(), event));
  }

  /**
   * Applies a patch if the instance is still at `expectedVersion`, and records
   * the event, in one transaction.
   */
  change(uid: string, expectedVersion: number, patch: InstancePatch, event: NewEvent): InstanceRecord {
    const now = this.clock.now();
    const record = this.write(() => {
      const current = this.byUid(uid);
      if (!current || current.version !== expectedVersion) throw new StaleInstance(current?.id ?? uid);
      if (patch.state !== undefined && !canTransition(current.state, patch.state)) {
        throw new IllegalTransition(current.state, patch.state);
      }
      const failedPhase = patch.failedPhase === null ? null : (patch.failedPhase ?? current.failedPhase ?? null);
      const state = patch.state ?? current.state;
      this.sql.change.run({
        uid,
        expectedVersion,
        now,
        stateSince: state === current.state ? current.stateSince : now,
        memo: JSON.stringify(patch.memo ?? current.memo),
        attributes: JSON.stringify(patch.attributes ?? current.attributes),
        outputs: JSON.stringify(patch.outputs ?? current.outputs),
        state,
        stateMessage: patch.stateMessage ?? current.stateMessage,
        failedPhase,
      });
      this.appendEvent(uid, now, event);
      return this.byUid(uid)!;
    });
    return this.wrote(uid, record);
  }

  /** Marks an instance removed once its teardown is confirmed; its events stay. */
  remove(uid: string, expectedVersion: number, event: NewEvent): void {
    const now = this.clock.now();
    this.write(() => {
      const result = this.sql.remove.run(now, now, uid, expectedVersion);
      if (result.changes !== 1) throw new StaleInstance(uid);
      this.appendEvent(uid, now, event);
    });
    this.wrote(uid, undefined);
  }

  /** The whole history of an instance, oldest first. */
  events(uid: string): InstanceEvent[] {
    return this.sql.events.all(uid).map(toEvent);
  }

  /** Up to `limit` events numbered after `after`, oldest first. */
  eventPage(uid: string, after: number, limit: number): EventPage {
    const rows = this.sql.eventPage.all(uid, after, limit + 1);
    return { events: rows.slice(0, limit).map(toEvent), more: rows.length > limit };
  }

  brokerRecord(uid: string): BrokerRecord | undefined {
    const row = this.sql.brokerRecord.get(uid);
    if (!row) return undefined;
    return { serviceId: row.service_id, planId: row.plan_id, parameters: JSON.parse(row.parameters) as Record<string, unknown>, operation: row.operation };
  }

  /** Records (or replaces) what a broker platform asked of an instance; call it inside the instance's own write to commit both together. */
  setBrokerRecord(uid: string, record: BrokerRecord): void {
    this.write(() => this.sql.setBrokerRecord.run(uid, record.serviceId, record.planId, JSON.stringify(record.parameters), record.operation));
  }

  /** Whether a broker platform's instance of this tenant and id was removed (and not yet pruned). */
  removedBrokerInstance(tenant: string, id: string): boolean {
    return this.sql.removedBrokerInstance.get(tenant, id) !== undefined;
  }

  binding(uid: string, bindingId: string): BindingRecord | undefined {
    const row = this.sql.binding.get(uid, bindingId);
    return row && { bindingId: row.binding_id, parameters: JSON.parse(row.parameters) as Record<string, unknown>, createdAt: row.created_at };
  }

  addBinding(uid: string, binding: Omit<BindingRecord, 'createdAt'>): BindingRecord {
    const createdAt = this.clock.now();
    this.write(() => this.sql.addBinding.run(uid, binding.bindingId, JSON.stringify(binding.parameters), createdAt));
    return { ...binding, createdAt };
  }

  /** Whether there was such a binding. */
  removeBinding(uid: string, bindingId: string): boolean {
    return this.write(() => this.sql.removeBinding.run(uid, bindingId).changes > 0);
  }

  /** Deletes instances removed before `before` with their histories; returns how many. */
  prune(before: number): number {
    return this.write(() => {
      this.sql.pruneEvents.run(before);
      return this.sql.pruneInstances.run(before).changes;
    });
  }

  private appendEvent(uid: string, time: number, event: NewEvent): void {
    const n = this.sql.nextNumber.get(uid)!.n;
    this.sql.appendEvent.run(
      uid,
      n,
      time,
      event.actor,
      event.type,
      event.state ?? null,
      event.message ?? null,
      event.changes === undefined ? null : JSON.stringify(event.changes),
    );
    if (n > this.history.maxEvents && n % FOLD_EVERY === 0) this.fold(uid);
  }

  /**
   * Keeps a history within its bound: the oldest events that only told of
   * progress go, and one `folded` event, where the first of them was, says
   * how many there were.
   */
  private fold(uid: string): void {
    const excess = this.sql.countEvents.get(uid)!.count - this.history.maxEvents;
    if (excess <= 0) return;
    const existing = this.sql.foldedOf.get(uid);
    const doomed = this.sql.foldable.all(uid, existing ? excess : excess + 1);
    if (doomed.length === 0) return;
    const earlier = existing ? Number(/^(\d+)/.exec(existing.message ?? '')?.[1] ?? 0) : 0;
    // The marker takes the place of the oldest event folded now, unless an older marker stands already.
    const [first, ...rest] = doomed;
    const gone = existing ? doomed : rest;
    const count = earlier + doomed.length;
    for (const row of gone) this.sql.deleteEvent.run(row.seq);
    const message = `${count} older progress event${count === 1 ? ' was' : 's were'} folded to keep the history within ${this.history.maxEvents} events`;
    if (existing) this.sql.setMessage.run(message, existing.seq);
    else this.sql.replaceWithFolded.run(message, first.seq);
  }
}

function privateFiles(path: string): void {
  privateFile(path);
  for (const companion of [`${path}-wal`, `${path}-shm`, `${path}-journal`]) if (existsSync(companion)) privateFile(companion);
}

function prepareStatements(db: Database.Database) {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    insert: db.prepare(
      `INSERT INTO instances (uid, id, tenant, kind, attributes, outputs, state, state_message, failed_phase,
         created_at, updated_at, state_since, version)
       VALUES (@uid, @id, @tenant, @kind, @attributes, @outputs, @state, @stateMessage, @failedPhase,
         @now, @now, @now, 1)`,
    ),
    find: db.prepare<[string, string], InstanceRow>('SELECT * FROM instances WHERE tenant = ? AND id = ? AND removed_at IS NULL'),
    byUid: db.prepare<[string], InstanceRow>('SELECT * FROM instances WHERE uid = ? AND removed_at IS NULL'),
    list: db.prepare<[string], InstanceRow>('SELECT * FROM instances WHERE tenant = ? AND removed_at IS NULL ORDER BY created_at, id'),
    keyPage: db.prepare<PageArguments, { uid: string; id: string; created_at: number; version: number }>(
      `SELECT uid, id, created_at, version FROM instances WHERE ${PAGE_WHERE}`,
    ),
    byUids: db.prepare<[string], InstanceRow>('SELECT * FROM instances WHERE uid IN (SELECT value FROM json_each(?)) AND removed_at IS NULL'),
    listAll: db.prepare<[], InstanceRow>('SELECT * FROM instances WHERE removed_at IS NULL ORDER BY created_at, id'),
    liveStates: db.prepare<[], { uid: string; state: string }>('SELECT uid, state FROM instances WHERE removed_at IS NULL ORDER BY created_at, id'),
    stateCounts: db.prepare<[], { state: string; tenant: string; count: number }>(
      'SELECT state, tenant, count(*) AS count FROM instances WHERE removed_at IS NULL GROUP BY state, tenant',
    ),
    inStates: db.prepare<[string], { uid: string }>(
      'SELECT uid FROM instances WHERE removed_at IS NULL AND state IN (SELECT value FROM json_each(?)) ORDER BY created_at, id',
    ),
    awaitingRetry: db.prepare<[], { uid: string }>(
      `SELECT uid FROM instances WHERE removed_at IS NULL AND state = 'failed'
         AND (failed_phase = 'destroy' OR json_extract(memo, '$.failure.vms') = 'removing') ORDER BY created_at, id`,
    ),
    withAttribute: db.prepare<[string], InstanceRow>(
      'SELECT * FROM instances WHERE removed_at IS NULL AND json_type(attributes, ?) IS NOT NULL ORDER BY created_at, id',
    ),
    holdings: db.prepare<[string], { uid: string; attributes: string; state: string; vms: string | null }>(
      "SELECT uid, attributes, state, json_extract(memo, '$.failure.vms') AS vms FROM instances WHERE tenant = ? AND removed_at IS NULL",
    ),
    recordedPorts: db.prepare<[], { port: number; state: string; vms: string | null }>(
      `SELECT json_extract(memo, '$.port') AS port, state, json_extract(memo, '$.failure.vms') AS vms
       FROM instances WHERE removed_at IS NULL AND json_type(memo, '$.port') = 'integer'`,
    ),
    change: db.prepare(
      `UPDATE instances SET attributes = @attributes, outputs = @outputs, state = @state,
         state_message = @stateMessage, failed_phase = @failedPhase, updated_at = @now, state_since = @stateSince,
         memo = @memo, version = version + 1
       WHERE uid = @uid AND version = @expectedVersion`,
    ),
    setMemo: db.prepare<[string, string]>('UPDATE instances SET memo = ? WHERE uid = ? AND removed_at IS NULL'),
    meta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare<[string, string]>('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)'),
    markProbe: db.prepare<[string]>("INSERT INTO meta (key, value) VALUES ('probed_at', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    remove: db.prepare<[number, number, string, number]>(
      'UPDATE instances SET removed_at = ?, updated_at = ?, version = version + 1 WHERE uid = ? AND version = ? AND removed_at IS NULL',
    ),
    events: db.prepare<[string], EventRow>('SELECT n, time, actor, type, state, message, changes FROM events WHERE uid = ? ORDER BY n'),
    eventPage: db.prepare<[string, number, number], EventRow>(
      'SELECT n, time, actor, type, state, message, changes FROM events WHERE uid = ? AND n > ? ORDER BY n LIMIT ?',
    ),
    nextNumber: db.prepare<[string], { n: number }>('SELECT COALESCE(MAX(n), 0) + 1 AS n FROM events WHERE uid = ?'),
    appendEvent: db.prepare<[string, number, number, string, string, string | null, string | null, string | null]>(
      'INSERT INTO events (uid, n, time, actor, type, state, message, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    countEvents: db.prepare<[string], { count: number }>('SELECT COUNT(*) AS count FROM events WHERE uid = ?'),
    foldable: db.prepare<[string, number], { seq: number }>(
      `SELECT seq FROM events WHERE uid = ? AND type NOT IN (${KEPT_TYPES.map((t) => `'${t}'`).join(', ')}) ORDER BY n LIMIT ?`,
    ),
    foldedOf: db.prepare<[string], { seq: number; message: string | null }>("SELECT seq, message FROM events WHERE uid = ? AND type = 'folded'"),
    deleteEvent: db.prepare<[number]>('DELETE FROM events WHERE seq = ?'),
    setMessage: db.prepare<[string, number]>('UPDATE events SET message = ? WHERE seq = ?'),
    replaceWithFolded: db.prepare<[string, number]>(
      "UPDATE events SET type = 'folded', actor = 'service-manager', state = NULL, changes = NULL, message = ? WHERE seq = ?",
    ),
    brokerRecord: db.prepare<[string], { service_id: string; plan_id: string; parameters: string; operation: BrokerRecord['operation'] }>(
      'SELECT service_id, plan_id, parameters, operation FROM broker_instances WHERE uid = ?',
    ),
    setBrokerRecord: db.prepare<[string, string, string, string, string]>(
      `INSERT INTO broker_instances (uid, service_id, plan_id, parameters, operation) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (uid) DO UPDATE SET service_id = excluded.service_id, plan_id = excluded.plan_id,
           parameters = excluded.parameters, operation = excluded.operation`,
    ),
    binding: db.prepare<[string, string], { binding_id: string; parameters: string; created_at: number }>(
      'SELECT binding_id, parameters, created_at FROM broker_bindings WHERE uid = ? AND binding_id = ?',
    ),
    removedBrokerInstance: db.prepare<[string, string], { uid: string }>(
      'SELECT uid FROM instances JOIN broker_instances USING (uid) WHERE tenant = ? AND id = ? AND removed_at IS NOT NULL LIMIT 1',
    ),
    addBinding: db.prepare<[string, string, string, number]>('INSERT INTO broker_bindings (uid, binding_id, parameters, created_at) VALUES (?, ?, ?, ?)'),
    removeBinding: db.prepare<[string, string]>('DELETE FROM broker_bindings WHERE uid = ? AND binding_id = ?'),
    pruneEvents: db.prepare<[number]>('DELETE FROM events WHERE uid IN (SELECT uid FROM instances WHERE removed_at IS NOT NULL AND removed_at < ?)'),
    pruneInstances: db.prepare<[number]>('DELETE FROM instances WHERE removed_at IS NOT NULL AND removed_at < ?'),
  };
}

/** Where a listing page ends: the next page starts after this instance in the order of creation. */
export interface ListingCursor {
  readonly createdAt: number;
  readonly id: string;
}

/** An instance's place in a listing, and the version its rendering is good for. */
export interface InstanceKey extends ListingCursor {
  readonly uid: string;
  readonly version: number;
}

type PageArguments = [string, number, number, string, number];

const PAGE_WHERE = `tenant = ? AND removed_at IS NULL AND (created_at > ? OR (created_at = ? AND id > ?))
  ORDER BY created_at, id LIMIT ?`;

/** One row more than the page, to tell whether more follow; SQLite reads LIMIT -1 as no limit. */
function pageArguments(tenant: string, after: ListingCursor | undefined, limit: number | undefined): PageArguments {
  const from = after ?? { createdAt: -1, id: '' };
  return [tenant, from.createdAt, from.createdAt, from.id, limit === undefined ? -1 : limit + 1];
}

/** The JSON path of a top-level member whose name holds dots: $."mesos.autoscale". */
function jsonPath(name: string): string {
  return `$.${JSON.stringify(name)}`;
}

function toRecord(row: InstanceRow): InstanceRecord {
  const state = checkedState(row.state);
  const failedPhase = row.failed_phase === null ? undefined : checkedState(row.failed_phase);
  return {
    uid: row.uid,
    id: row.id,
    tenant: row.tenant,
    kind: row.kind,
    attributes: JSON.parse(row.attributes) as Attributes,
    outputs: JSON.parse(row.outputs) as Attributes,
    state,
    stateMessage: row.state_message,
    stateSince: row.state_since,
    ...(failedPhase === undefined ? {} : { failedPhase }),
    memo: JSON.parse(row.memo) as PipelineMemo,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

function toEvent(row: EventRow): InstanceEvent {
  return {
    seq: row.n,
    time: row.time,
    actor: row.actor,
    type: row.type,
    ...(row.state === null ? {} : { state: checkedState(row.state) }),
    ...(row.message === null ? {} : { message: row.message }),
    ...(row.changes === null ? {} : { changes: JSON.parse(row.changes) as Changes }),
  };
}

function checkedState(value: string): ServiceState {
  if (!isState(value)) throw new Error(`registry holds an unknown state "${value}"`);
  return value;
}
