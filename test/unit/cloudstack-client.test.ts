import { expect } from 'chai';
import { ManualClock } from '../../lib/clock.js';
import { backoffDelay, JOB_POLLING } from '../../lib/cloudstack/backoff.js';
import { CloudStackClient, unwrap } from '../../lib/cloudstack/client.js';
import { classify, CloudStackError, CloudStackTimeout, CloudStackTransportError } from '../../lib/cloudstack/errors.js';
import { TokenBucket } from '../../lib/token-bucket.js';
import { sign } from '../../lib/cloudstack/sign.js';
import { TransportFailure } from '../../lib/cloudstack/transport.js';
import { createMemoryLogger } from '../../lib/logger.js';
import { FakeTransport, reply, type Responder } from '../support/fake-transport.js';
import { onVirtualTime } from '../support/time.js';

function client(responder: Responder, overrides: Partial<ConstructorParameters<typeof CloudStackClient>[0]> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const transport = new FakeTransport(responder);
  const cs = new CloudStackClient({
    endpoint: 'http://127.0.0.1:8080/',
    apiKey: 'key-1',
    secretKey: 'secret-1',
    timers: clock,
    transport,
    random: () => 0.5,
    ...overrides,
  });
  return { cs, clock, transport };
}

const job = (jobstatus: number, extra: Record<string, unknown> = {}) =>
  reply(200, { queryasyncjobresultresponse: { jobid: 'j1', jobstatus, jobresultcode: 0, cmd: 'x', created: 'c', ...extra } });

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('CloudStack client requests', () => {
  it('GETs reads with every parameter signed, version 3, expiring in 10 minutes', async () => {
    const { cs, transport, clock } = client(() => reply(200, { listzonesresponse: { count: 1, zone: [{ id: 'z' }] } }));
    const body = await cs.request('listZones', { available: true });
    expect(body).to.deep.equal({ count: 1, zone: [{ id: 'z' }] });
    const [seen] = transport.seen;
    expect(seen.method).to.equal('GET');
    expect(seen.url.startsWith('http://127.0.0.1:8080/client/api?')).to.equal(true);
    const { signature, ...signed } = seen.params;
    expect(signed).to.deep.equal({
      available: 'true',
      command: 'listZones',
      response: 'json',
      apikey: 'key-1',
      signatureversion: '3',
      expires: new Date(clock.now() + 600_000).toISOString().replace(/\.\d{3}Z$/, '+0000'),
    });
    expect(signature).to.equal(sign(signed, 'secret-1'));
  });

  it('POSTs everything that is not a read, as a form', async () => {
    const { cs, transport } = client(() => reply(200, { deployvirtualmachineresponse: { id: 'vm', jobid: 'j' } }));
    await cs.request('deployVirtualMachine', { name: 'n', userdata: 'a+b/c=' });
    const [seen] = transport.seen;
    expect(seen.method).to.equal('POST');
    expect(seen.url).to.equal('http://127.0.0.1:8080/client/api');
    expect(seen.params['userdata']).to.equal('a+b/c=');
  });

  it('raises a typed error carrying code, cserrorcode, text and command', async () => {
    const { cs } = client(() =>
      reply(431, {
        deployvirtualmachineresponse: {
          uuidList: [],
          errorcode: 431,
          cserrorcode: 9999,
          errortext: 'Unable to execute API command deployvirtualmachine due to missing parameter zoneid',
        },
      }),
    );
    const error = (await failure(cs.request('deployVirtualMachine'))) as CloudStackError;
    expect(error).to.be.instanceOf(CloudStackError);
    expect(error).to.include({ httpStatus: 431, errorcode: 431, cserrorcode: 9999, command: 'deployVirtualMachine', classification: 'fatal' });
    expect(error.errortext).to.match(/missing parameter zoneid/);
  });

  it('retries reads after transport failures, with backoff', async () => {
    let calls = 0;
    const { cs, clock } = client(() => {
      if (++calls < 3) throw new TransportFailure('ECONNRESET');
      return reply(200, { listzonesresponse: {} });
    });
    const started = clock.now();
    expect(await onVirtualTime(clock, cs.request('listZones'))).to.deep.equal({});
    expect(calls).to.equal(3);
    expect(clock.now() - started).to.equal(500 + 1000);
  });

  it('never repeats a mutating call after a transport failure', async () => {
    let calls = 0;
    const { cs } = client(() => {
      calls++;
      throw new TransportFailure('timeout');
    });
    const error = await failure(cs.request('destroyVirtualMachine', { id: 'x' }));
    expect(error).to.be.instanceOf(CloudStackTransportError);
    expect(error.message).to.equal('destroyVirtualMachine: no usable answer from CloudStack (timeout)');
    expect(calls).to.equal(1);
  });

  it('waits as long as a 429 asks, then retries, even for mutating calls', async () => {
    let calls = 0;
    const { cs, clock } = client(() =>
      ++calls === 1
        ? reply(429, {
            createtagsresponse: {
              errorcode: 429,
              cserrorcode: 9999,
              errortext: 'The given user has reached his/her account api limit, please retry after [750] ms.',
            },
          })
        : reply(200, { createtagsresponse: { jobid: 'j' } }),
    );
    const started = clock.now();
    await onVirtualTime(clock, cs.request('createTags'));
    expect(calls).to.equal(2);
    expect(clock.now() - started).to.equal(750);
  });

  it('halves its rate at each 429 and creeps back to its limit while calls get through', async () => {
    const times: number[] = [];
    const { cs, clock } = client(
      () => {
        times.push(clock.now());
        return times.length === 3
          ? reply(429, { listzonesresponse: { errorcode: 429, cserrorcode: 9999, errortext: 'please retry after [0] ms.' } })
          : reply(200, { listzonesresponse: {} });
      },
      { rateLimit: { perSecond: 10, burst: 1 } },
    );
    await onVirtualTime(
      clock,
      (async () => {
        for (let i = 0; i < 80; i++) await cs.request('listZones');
      })(),
    );
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps.slice(0, 2), 'at the limit before').to.deep.equal([100, 100]);
    expect(gaps[2], 'the retry, at half the rate').to.equal(200);
    expect(
      gaps.slice(3, 10).every((gap, i) => gap <= gaps[i + 2] && gap > 100),
      'back up little by little',
    ).to.equal(true);
    expect(gaps.slice(-10), 'at the limit again').to.deep.equal(Array(10).fill(100));
  });

  it('treats a non-JSON proxy answer as a transport failure', async () => {
    const { cs } = client(() => ({ status: 502, body: '<html>Bad Gateway</html>' }));
    const error = await failure(cs.request('deployVirtualMachine'));
    expect(error).to.be.instanceOf(CloudStackTransportError);
    expect(error.message).to.contain('HTTP 502 reply is not JSON');
  });

  it('pages through long lists until count items are collected', async () => {
    const { cs, transport } = client((req) => {
      const page = Number(req.params['page']);
      const items = page <= 2 ? Array.from({ length: page === 1 ? 500 : 200 }, (_, i) => ({ id: `${page}-${i}` })) : [];
      return reply(200, { listvirtualmachinesresponse: { count: 700, virtualmachine: items } });
    });
    const vms = await cs.list('listVirtualMachines', 'virtualmachine', { tags: { owner: 'x' } });
    expect(vms).to.have.length(700);
    expect(transport.seen.map((s) => [s.params['page'], s.params['pagesize']])).to.deep.equal([
      ['1', '500'],
      ['2', '500'],
    ]);
  });

  it('reads an empty list from the {} envelope', async () => {
    const { cs } = client(() => reply(200, { listvirtualmachinesresponse: {} }));
    expect(await cs.list('listVirtualMachines', 'virtualmachine')).to.deep.equal([]);
  });

  it('never logs the secret, the signature or parameter values', async () => {
    const { logger, lines } = createMemoryLogger();
    let calls = 0;
    const { cs, clock, transport } = client(
      () => {
        if (++calls === 1) throw new TransportFailure('ECONNRESET');
        return reply(200, { listvirtualmachinesresponse: {} });
      },
      { logger },
    );
    await onVirtualTime(clock, cs.request('listVirtualMachines', { keyword: 'private-value' }));
    const log = lines.join('');
    expect(log).to.contain('listVirtualMachines');
    for (const secret of ['secret-1', transport.seen[0].params['signature'], 'private-value', 'key-1']) {
      expect(log).to.not.contain(secret);
    }
  });
});

describe('CloudStack async jobs', () => {
  it('polls with growing, jittered delays until the job succeeds', async () => {
    let polls = 0;
    const { cs, clock } = client(() => (++polls < 4 ? job(0) : job(1, { jobresult: { virtualmachine: { id: 'vm' } } })), {
      random: () => 1,
    });
    const started = clock.now();
    const result = await onVirtualTime(clock, cs.waitForJob('deployVirtualMachine', 'j1', { deadlineMs: 600_000 }));
    expect(result).to.deep.equal({ virtualmachine: { id: 'vm' } });
    expect(clock.now() - started).to.equal(1200 + 1500 + 1875 + 2344);
  });

  it('keeps every delay within ±20 % of the schedule and at most 6 s', () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const low = backoffDelay(attempt, JOB_POLLING, () => 0);
      const high = backoffDelay(attempt, JOB_POLLING, () => 1);
      const base = Math.min(5000, 1000 * 1.25 ** attempt);
      expect(low).to.equal(Math.round(base * 0.8));
      expect(high).to.equal(Math.round(base * 1.2));
    }
  });

  it("raises the job's own error code and text, naming the resource", async () => {
    const { cs, clock } = client(() =>
      job(2, {
        jobresultcode: 533,
        jobinstanceid: 'vm-9',
        jobresult: { errorcode: 533, errortext: 'Unable to create a deployment for VM[User|i-2-10-VM]' },
      }),
    );
    const error = (await onVirtualTime(clock, failure(cs.waitForJob('deployVirtualMachine', 'j1', { deadlineMs: 1000 })))) as CloudStackError;
    expect(error).to.include({ errorcode: 533, classification: 'capacity', jobid: 'j1', resourceId: 'vm-9' });
  });

  it('gives up at the deadline with a timeout that names the job', async () => {
    const { cs, clock } = client(() => job(0));
    const started = clock.now();
    const error = await onVirtualTime(clock, failure(cs.waitForJob('destroyVirtualMachine', 'j1', { deadlineMs: 30_000 })));
    expect(error).to.be.instanceOf(CloudStackTimeout);
    expect(error.message).to.equal('destroyVirtualMachine (job j1) did not finish within 30 s');
    expect(clock.now() - started).to.equal(30_000);
  });

  it('looks at the resource when the job is unknown (431)', async () => {
    const { cs, clock } = client(() => reply(431, { queryasyncjobresultresponse: { errorcode: 431, cserrorcode: 9999, errortext: 'entity does not exist' } }));
    const found = await onVirtualTime(clock, cs.waitForJob('destroyVirtualMachine', 'j1', { deadlineMs: 1000, onLost: async () => 'gone' }));
    expect(found).to.equal('gone');
    const error = (await onVirtualTime(clock, failure(cs.waitForJob('destroyVirtualMachine', 'j1', { deadlineMs: 1000 })))) as CloudStackError;
    expect(error.errortext).to.match(/no longer knows job j1/);
  });

  it("looks at every job waited for at once with one listing of the account's jobs a round, asking by id only for what it misses", async () => {
    const finished = new Set<string>();
    const { cs, clock, transport } = client((request) => {
      if (request.params['command'] === 'queryAsyncJobResult') {
        return reply(200, {
          queryasyncjobresultresponse: { jobid: request.params['jobid'], jobstatus: 1, jobresultcode: 0, jobresult: { n: request.params['jobid'] } },
        });
      }
      const listed = ['j1', 'j2', 'j3'].map((jobid) => ({ jobid, jobstatus: finished.has(jobid) ? 1 : 0, jobresultcode: 0, jobresult: { n: jobid } }));
      return reply(200, { listasyncjobsresponse: { count: listed.length, asyncjobs: listed } });
    });
    const started = clock.now();
    const waits = ['j1', 'j2', 'j3', 'j4'].map((jobid) => cs.waitForJob<{ n: string }>('deployVirtualMachine', jobid, { deadlineMs: 600_000 }));
    finished.add('j1');
    const first = await onVirtualTime(clock, waits[0]);
    expect(first).to.deep.equal({ n: 'j1' });
    finished.add('j2').add('j3');
    expect((await onVirtualTime(clock, Promise.all(waits.slice(1)))).map((r) => r.n)).to.deep.equal(['j2', 'j3', 'j4']);
    const commands = transport.seen.map((r) => r.params['command']);
    expect(commands, 'j4 is not listed: asked for by id').to.deep.equal(['listAsyncJobs', 'queryAsyncJobResult', 'listAsyncJobs']);
    expect(transport.seen[0].params['startdate'], 'from a minute before the oldest job waited for').to.equal(
      new Date(started - 60_000).toISOString().slice(0, 19).replace('T', ' '),
    );
    expect(transport.seen[2].params['startdate'], 'a listing that missed a job reaches a day back').to.equal(
      new Date(started - 86_400_000).toISOString().slice(0, 10),
    );
  });

  it('stops waiting when cancelled', async () => {
    const { cs, clock } = client(() => job(0));
    const controller = new AbortController();
    const waiting = failure(cs.waitForJob('deployVirtualMachine', 'j1', { deadlineMs: 600_000, signal: controller.signal }));
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('cancelled by delete'));
    clock.advance(0);
    expect((await waiting).message).to.equal('cancelled by delete');
  });
});

describe('CloudStack error model', () => {
  it('classifies error codes by what a caller can do', () => {
    expect([401, 429, 430, 431, 432, 530, 531, 532, 533, 534, 535, 503].map(classify)).to.deep.equal([
      'fatal',
      'throttled',
      'fatal',
      'fatal',
      'fatal',
      'fatal',
      'fatal',
      'quota',
      'capacity',
      'retryable',
      'quota',
      'retryable',
    ]);
  });

  it('reads the retry delay from both 429 wordings', () => {
    const make = (errortext: string) => new CloudStackError({ command: 'c', httpStatus: 429, errorcode: 429, errortext });
    expect(make('please retry after [1200] ms.').retryAfterMs()).to.equal(1200);
    expect(make('please retry after 300 ms.').retryAfterMs()).to.equal(300);
    expect(make('slow down').retryAfterMs()).to.equal(undefined);
  });

  it('unwraps whatever the envelope key is, and refuses anything else', () => {
    expect(unwrap('restoreVirtualMachine', 200, '{"restorevmresponse":{"jobid":"j"}}')).to.deep.equal({ jobid: 'j' });
    expect(() => unwrap('x', 200, '{"a":{},"b":{}}')).to.throw(CloudStackTransportError);
    expect(() => unwrap('x', 200, '[]')).to.throw(CloudStackTransportError);
    expect(() => unwrap('x', 503, '{"xresponse":{}}')).to.throw(CloudStackTransportError, /HTTP 503/);
  });
});

describe('CloudStack client rate limit', () => {
  it('spaces calls out once the burst is spent', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(clock, 10, 5);
    const started = clock.now();
    await onVirtualTime(
      clock,
      (async () => {
        for (let i = 0; i < 25; i++) await bucket.take();
      })(),
    );
    expect(clock.now() - started).to.equal(2000);
  });

  it('holds every call during a pause', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(clock, 100, 100);
    bucket.pause(1500);
    const started = clock.now();
    await onVirtualTime(clock, bucket.take());
    expect(clock.now() - started).to.equal(1500);
  });
});
