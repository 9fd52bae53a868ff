import type Database from 'better-sqlite3';
import type { Clock } from '../../lib/clock.js';

/** The statuses this service gives stacks and their resources (a subset of CloudFormation's). */
export type StackStatus =
  | 'CREATE_IN_PROGRESS'
  | 'CREATE_FAILED'
  | 'CREATE_COMPLETE'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_FAILED'
  | 'ROLLBACK_COMPLETE'
  | 'DELETE_IN_PROGRESS'
  | 'DELETE_FAILED'
  | 'DELETE_COMPLETE'
  | 'UPDATE_IN_PROGRESS'
  | 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'
  | 'UPDATE_COMPLETE'
  | 'UPDATE_FAILED';

export type OnFailure = 'ROLLBACK' | 'DELETE' | 'DO_NOTHING';

export interface StackRecord {
  readonly stackId: string;
  readonly tenant: string;
  readonly name: string;
  /** The template as it was given (GetTemplate returns it unchanged). */
  readonly template: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly status: StackStatus;
  readonly reason: string;
  readonly onFailure: OnFailure;
  readonly timeoutMs?: number;
  readonly clientToken?: string;
  readonly createdAt: number;
  readonly updatedAt?: number;
  readonly deletedAt?: number;
  /** When the current operation began, for its timeout. */
  readonly since: number;
}

export interface StackResourceRecord {
  readonly logicalId: string;
  readonly type: string;
  /** The instance made for it: its id (the physical id) and uid. */
  readonly physicalId?: string;
  readonly uid?: string;
  readonly status: StackStatus;
  readonly reason: string;
  readonly updatedAt: number;
}

export interface StackEventRecord {
  readonly seq: number;
  readonly eventId: string;
  readonly logicalId: string;
  readonly physicalId: string;
  readonly type: string;
  readonly time: number;
  readonly status: StackStatus;
  readonly reason: string;
}

export type NewStack = Omit<StackRecord, 'updatedAt' | 'deletedAt'>;

interface StackRow {
  stack_id: string;
  tenant: string;
  name: string;
  template: string;
  parameters: string;
  tags: string;
  status: StackStatus;
  reason: string;
  on_failure: OnFailure;
  timeout_ms: number | null;
  client_token: string | null;
  created_at: number;
  updated_at: number | null;
  deleted_at: number | null;
  since: number;
}

export const STACK_TABLES = `CREATE TABLE stacks (
     stack_id TEXT PRIMARY KEY,
     tenant TEXT NOT NULL,
     name TEXT NOT NULL,
     template TEXT NOT NULL,
     parameters TEXT NOT NULL,
     tags TEXT NOT NULL,
     status TEXT NOT NULL,
     reason TEXT NOT NULL,
     on_failure TEXT NOT NULL,
     timeout_ms INTEGER,
     client_token TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER,
     deleted_at INTEGER,
     since INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX stacks_live_name ON stacks (tenant, name) WHERE deleted_at IS NULL;
   CREATE INDEX stacks_by_status ON stacks (status);
   CREATE TABLE stack_resources (
     stack_id TEXT NOT NULL REFERENCES stacks (stack_id) ON DELETE CASCADE,
     logical_id TEXT NOT NULL,
     type TEXT NOT NULL,
     physical_id TEXT,
     uid TEXT,
     status TEXT NOT NULL,
     reason TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (stack_id, logical_id)
   );
   CREATE TABLE stack_events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     stack_id TEXT NOT NULL REFERENCES stacks (stack_id) ON DELETE CASCADE,
     event_id TEXT NOT NULL,
     logical_id TEXT NOT NULL,
     physical_id TEXT NOT NULL,
     type TEXT NOT NULL,
     time INTEGER NOT NULL,
     status TEXT NOT NULL,
     reason TEXT NOT NULL
   );
   CREATE INDEX stack_events_by_stack ON stack_events (stack_id, seq);`;

/** Statuses a stack rests in: nothing more happens to it until a request. */
export const SETTLED: readonly StackStatus[] = [
  'CREATE_FAILED',
  'CREATE_COMPLETE',
  'ROLLBACK_FAILED',
  'ROLLBACK_COMPLETE',
  'DELETE_FAILED',
  'DELETE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
];

function toStack(row: StackRow): StackRecord {
  return {
    stackId: row.stack_id,
    tenant: row.tenant,
    name: row.name,
    template: row.template,
    parameters: JSON.parse(row.parameters) as Record<string, string>,
    tags: JSON.parse(row.tags) as Record<string, string>,
    status: row.status,
    reason: row.reason,
    onFailure: row.on_failure,
    ...(row.timeout_ms === null ? {} : { timeoutMs: row.timeout_ms }),
    ...(row.client_token === null ? {} : { clientToken: row.client_token }),
    createdAt: row.created_at,
    ...(row.updated_at === null ? {} : { updatedAt: row.updated_at }),
    ...(row.deleted_at === null ? {} : { deletedAt: row.deleted_at }),
    since: row.since,
  };
}

function prepare(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT INTO stacks (stack_id, tenant, name, template, parameters, tags, status, reason, on_failure, timeout_ms, client_token, created_at, since)
       VALUES (@stackId, @tenant, @name, @template, @parameters, @tags, @status, @reason, @onFailure, @timeoutMs, @clientToken, @createdAt, @since)`,
    ),
    byId: db.prepare<[string, string], StackRow>('SELECT * FROM stacks WHERE stack_id = ? AND tenant = ?'),
    live: db.prepare<[string, string], StackRow>('SELECT * FROM stacks WHERE tenant = ? AND name = ? AND deleted_at IS NULL'),
    byToken: db.prepare<[string, string], StackRow>('SELECT * FROM stacks WHERE tenant = ? AND client_token = ? ORDER BY created_at DESC LIMIT 1'),
    list: db.prepare<[string], StackRow>('SELECT * FROM stacks WHERE tenant = ? ORDER BY created_at DESC, stack_id'),
    unsettled: db.prepare<[string], StackRow>('SELECT * FROM stacks WHERE status NOT IN (SELECT value FROM json_each(?)) ORDER BY created_at'),
    setStatus: db.prepare<[{ stackId: string; status: string; reason: string; begins: number; now: number }]>(
      `UPDATE stacks SET status = @status, reason = @reason,
         since = CASE WHEN @begins = 1 THEN @now ELSE since END,
         deleted_at = CASE WHEN @status = 'DELETE_COMPLETE' THEN @now ELSE deleted_at END,
         updated_at = CASE WHEN @status LIKE 'UPDATE%' THEN @now ELSE updated_at END
       WHERE stack_id = @stackId`,
    ),
    setDefinition: db.prepare<[string, string, string]>('UPDATE stacks SET template = ?, parameters = ? WHERE stack_id = ?'),
    resources: db.prepare<
      [string],
      { logical_id: string; type: string; physical_id: string | null; uid: string | null; status: StackStatus; reason: string; updated_at: number }
    >('SELECT * FROM stack_resources WHERE stack_id = ? ORDER BY rowid'),
    putResource: db.prepare<[string, string, string, string | null, string | null, string, string, number]>(
      `INSERT INTO stack_resources (stack_id, logical_id, type, physical_id, uid, status, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (stack_id, logical_id) DO UPDATE SET physical_id = excluded.physical_id, uid = excluded.uid, status = excluded.status,
           reason = excluded.reason, updated_at = excluded.updated_at`,
    ),
    addEvent: db.prepare<[string, string, string, string, string, number, string, string]>(
      'INSERT INTO stack_events (stack_id, event_id, logical_id, physical_id, type, time, status, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    events: db.prepare<
      [string],
      { seq: number; event_id: string; logical_id: string; physical_id: string; type: string; time: number; status: StackStatus; reason: string }
    >('SELECT * FROM stack_events WHERE stack_id = ? ORDER BY seq DESC'),
  };
}

/**
 * Stacks of the CloudFormation-compatible API, with their resources and
 * events, in the registry's database and its group commits: a stack's
 * change is durable with the instances it made.
 */
export class StackTable {
  private readonly sql: ReturnType<typeof prepare>;

  constructor(
    db: Database.Database,
    private readonly write: <T>(apply: () => T) => T,
    private readonly clock: Clock,
  ) {
    this.sql = prepare(db);
  }

  insert(stack: NewStack): StackRecord {
    this.write(() =>
      this.sql.insert.run({
        ...stack,
        parameters: JSON.stringify(stack.parameters),
        tags: JSON.stringify(stack.tags),
        timeoutMs: stack.timeoutMs ?? null,
        clientToken: stack.clientToken ?? null,
      }),
    );
    return this.byId(stack.tenant, stack.stackId)!;
  }

  byId(tenant: string, stackId: string): StackRecord | undefined {
    const row = this.sql.byId.get(stackId, tenant);
    return row && toStack(row);
  }

  /** The tenant's stack of this name that is not deleted. */
  live(tenant: string, name: string): StackRecord | undefined {
    const row = this.sql.live.get(tenant, name);
    return row && toStack(row);
  }

  byToken(tenant: string, token: string): StackRecord | undefined {
    const row = this.sql.byToken.get(tenant, token);
    return row && toStack(row);
  }

  /** Every stack of the tenant, deleted ones too, newest first. */
  list(tenant: string): StackRecord[] {
    return this.sql.list.all(tenant).map(toStack);
  }

  /** Stacks with an operation under way. */
  unsettled(): StackRecord[] {
    return this.sql.unsettled.all(JSON.stringify(SETTLED)).map(toStack);
  }

  /** A new status; `begins` starts the clock of a new operation (for its timeout). */
  setStatus(stackId: string, status: StackStatus, reason: string, begins = false): void {
    this.write(() => this.sql.setStatus.run({ stackId, status, reason, begins: begins ? 1 : 0, now: this.clock.now() }));
  }

  /** The template and parameters an update brings. */
  setDefinition(stackId: string, template: string, parameters: Readonly<Record<string, string>>): void {
    this.write(() => this.sql.setDefinition.run(template, JSON.stringify(parameters), stackId));
  }

  resources(stackId: string): StackResourceRecord[] {
    return this.sql.resources.all(stackId).map((row) => ({
      logicalId: row.logical_id,
      type: row.type,
      ...(row.physical_id === null ? {} : { physicalId: row.physical_id }),
      ...(row.uid === null ? {} : { uid: row.uid }),
      status: row.status,
      reason: row.reason,
      updatedAt: row.updated_at,
    }));
  }

  putResource(stackId: string, resource: Omit<StackResourceRecord, 'updatedAt'>): void {
    const now = this.clock.now();
    this.write(() =>
      this.sql.putResource.run(
        stackId,
        resource.logicalId,
        resource.type,
        resource.physicalId ?? null,
        resource.uid ?? null,
        resource.status,
        resource.reason,
        now,
      ),
    );
  }

  addEvent(stackId: string, event: Omit<StackEventRecord, 'seq' | 'time'>): void {
    const now = this.clock.now();
    this.write(() => this.sql.addEvent.run(stackId, event.eventId, event.logicalId, event.physicalId, event.type, now, event.status, event.reason));
  }

  /** The stack's events, newest first. */
  events(stackId: string): StackEventRecord[] {
    return this.sql.events.all(stackId).map((row) => ({
      seq: row.seq,
      eventId: row.event_id,
      logicalId: row.logical_id,
      physicalId: row.physical_id,
      type: row.type,
      time: row.time,
      status: row.status,
      reason: row.reason,
    }));
  }
}
