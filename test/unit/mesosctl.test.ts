import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ManualClock } from '../../lib/clock.js';
import { ApiError, UsageError, WaitFailed } from '../../cli/errors.js';
import { EXIT, exitCodeOf } from '../../cli/exit-codes.js';
import { progressFor } from '../../cli/progress.js';
import { resolveSettings } from '../../cli/settings.js';
import { judge, stageIndex, stagesOf, waitFor, type Sighting } from '../../cli/wait.js';
import { thrownBy } from '../support/expect.js';
import { removeDir } from '../support/sm.js';
import { onVirtualTime } from '../support/time.js';

const at = (state: string, message = ''): Sighting => ({ kind: 'present', state, message });
const GONE: Sighting = { kind: 'gone' };

describe('mesosctl waiting', () => {
  it('decides when a wait is over', () => {
    const table: Array<[Parameters<typeof judge>[0], Sighting, string]> = [
      ['serving', at('provision'), 'waiting'],
      ['serving', at('update'), 'waiting'],
      ['serving', at('ready'), 'done'],
      ['serving', at('degraded'), 'done'],
      ['serving', at('failed', 'Cannot build the cluster.'), 'failed: Cannot build the cluster.'],
      ['serving', at('failed'), 'failed: The instance failed.'],
      ['serving', GONE, 'failed: The instance was deleted.'],
      ['gone', at('destroy'), 'waiting'],
      ['gone', at('ready'), 'waiting'],
      ['gone', at('failed', 'VMs remain'), 'failed: VMs remain'],
      ['gone', GONE, 'done'],
    ];
    for (const [goal, sighting, expected] of table) {
      const verdict = judge(goal, sighting);
      expect(verdict.kind === 'failed' ? `failed: ${verdict.reason}` : verdict.kind, `${goal} ${JSON.stringify(sighting)}`).to.equal(expected);
    }
  });

  it('places each state on the stages of its wait, a degraded cluster as far as a ready one', () => {
    const create = stagesOf('serving', 'initialise');
    expect(create).to.deep.equal(['initialise', 'activate', 'deploy', 'provision', 'ready']);
    expect(stageIndex(create, at('provision'))).to.equal(3);
    expect(stageIndex(create, at('degraded'))).to.equal(4);
    expect(stagesOf('serving', 'update')).to.deep.equal(['update', 'ready']);
    expect(stageIndex(stagesOf('gone', 'destroy'), GONE)).to.equal(1);
  });

  it('looks every interval until the verdict, and gives up after the timeout saying where it stood', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const states = ['initialise', 'deploy', 'ready'];
    const done = await onVirtualTime(
      clock,
      waitFor({
        goal: 'serving',
        look: () => Promise.resolve(at(states.shift()!)),
        report: (_s, elapsed) => seen.push(elapsed),
        timers: clock,
        intervalMs: 1000,
        timeoutMs: 0,
      }),
    );
    expect(done.kind).to.equal('done');
    expect(seen).to.deep.equal([0, 1000, 2000]);

    const stuck = await onVirtualTime(
      clock,
      waitFor({ goal: 'serving', look: () => Promise.resolve(at('provision')), report: () => undefined, timers: clock, intervalMs: 1000, timeoutMs: 3000 }),
    );
    expect(stuck).to.deep.equal({ kind: 'failed', reason: 'Gave up after 3 s; the instance is still in provision.' });
  });
});

describe('mesosctl progress', () => {
  function sink(tty: boolean): { stream: NodeJS.WritableStream; text: () => string } {
    let text = '';
    const stream = new Writable({ write: (chunk: Buffer, _e, done) => ((text += chunk.toString('utf8')), done()) });
    Object.assign(stream, { isTTY: tty, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    return { stream, text: () => text };
  }

  it('draws a bar over the stages on a terminal, with state, elapsed time and message', () => {
    const out = sink(true);
    const progress = progressFor('terminal', stagesOf('serving', 'initialise'), out.stream);
    progress.show(at('provision', 'Creating 3 agent VMs'), 65_000);
    progress.end();
    expect(out.text()).to.match(/[█░]+ 4\/5 provision 1m05s {2}Creating 3 agent VMs/);
  });

  it('writes a line per change otherwise', () => {
    const out = sink(false);
    const progress = progressFor('lines', stagesOf('serving', 'initialise'), out.stream);
    progress.show(at('deploy', 'Starting'), 1500);
    progress.show(at('deploy', 'Starting'), 2500);
    progress.show(at('provision', 'provision: leader 127.0.0.9'), 20_000);
    progress.show(at('ready'), 30_000);
    expect(out.text()).to.equal('    1s  deploy: Starting\n   20s  provision: leader 127.0.0.9\n   30s  ready\n');
  });
});

describe('mesosctl settings', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'mesosctl-home-'));
  });
  afterEach(() => removeDir(home));

  function configFile(doc: unknown, mode = 0o600): string {
    mkdirSync(join(home, '.config', 'mesosctl'), { recursive: true });
    const file = join(home, '.config', 'mesosctl', 'config.json');
    writeFileSync(file, JSON.stringify(doc));
    chmodSync(file, mode);
    return file;
  }

  it('takes each setting from a flag, else the environment, else the default config file', () => {
    configFile({ url: 'http://file:1', tenant: 'file-tenant', token: 'file-token' });
    expect(resolveSettings({ flags: {}, env: {}, home })).to.deep.equal({ url: 'http://file:1', tenant: 'file-tenant', token: 'file-token' });
    expect(resolveSettings({ flags: { tenant: 'flag-tenant' }, env: { MESOSCTL_TENANT: 'env-tenant', MESOSCTL_TOKEN: 'env-token' }, home })).to.deep.equal({
      url: 'http://file:1',
      tenant: 'flag-tenant',
      token: 'env-token',
    });
  });

  it('works without a config file, with the default URL', () => {
    expect(resolveSettings({ flags: {}, env: { MESOSCTL_TENANT: 't', MESOSCTL_TOKEN: 'k' }, home }).url).to.equal('http://127.0.0.1:8888');
  });

  it('refuses what is missing or wrong, as usage errors', () => {
    const messages = [
      () => resolveSettings({ flags: {}, env: { MESOSCTL_TOKEN: 'k' }, home }),
      () => resolveSettings({ flags: {}, env: { MESOSCTL_TENANT: 't' }, home }),
      () => resolveSettings({ flags: { url: 'ftp://x' }, env: { MESOSCTL_TENANT: 't', MESOSCTL_TOKEN: 'k' }, home }),
      () => resolveSettings({ flags: { config: join(home, 'missing.json') }, env: {}, home }),
      () => resolveSettings({ flags: {}, env: {}, home: (configFile({ token: 'k' }, 0o640), home) }),
      () => resolveSettings({ flags: {}, env: {}, home: (configFile({ token: 7 }), home) }),
    ].map((fn) => thrownBy(fn, UsageError).message);
    expect(messages[0]).to.match(/^No tenant/);
    expect(messages[1]).to.match(/^No token/);
    expect(messages[2]).to.match(/must be http\(s\)/);
    expect(messages[3]).to.match(/^Cannot read the config file/);
    expect(messages[4]).to.match(/others may read it; chmod 600 it/);
    expect(messages[5]).to.match(/"token" must be text/);
  });
});

describe('mesosctl exit codes', () => {
  it('map what went wrong to what a script can test', () => {
    expect(exitCodeOf(new UsageError('x'))).to.equal(EXIT.usage);
    expect(exitCodeOf(new ApiError(400, 'x'))).to.equal(EXIT.usage);
    expect(exitCodeOf(new ApiError(401, 'x'))).to.equal(EXIT.authentication);
    expect(exitCodeOf(new ApiError(403, 'x'))).to.equal(EXIT.authentication);
    expect(exitCodeOf(new ApiError(404, 'x'))).to.equal(EXIT.notFound);
    expect(exitCodeOf(new ApiError(409, 'x'))).to.equal(EXIT.failed);
    expect(exitCodeOf(new ApiError(0, 'unreachable'))).to.equal(EXIT.failed);
    expect(exitCodeOf(new WaitFailed('x'))).to.equal(EXIT.failed);
  });
});
