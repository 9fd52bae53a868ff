import { expect } from 'chai';
import { Writable } from 'node:stream';
import { chooseLogFormat, createLogger } from '../../lib/logger.js';

function capture(format: 'json' | 'text'): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(chunk.toString().trim());
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', format, stream }) };
}

describe('Logging', () => {
  it('writes readable lines on a terminal and JSON lines elsewhere', () => {
    expect(chooseLogFormat('auto', true)).to.equal('text');
    expect(chooseLogFormat('auto', false)).to.equal('json');
    expect(chooseLogFormat('json', true)).to.equal('json');
  });

  it('puts the request id and fields on one readable line', () => {
    const { lines, log } = capture('text');
    log.child({ requestId: 'r-1' }).info('request', { status: 201, path: '/mesos/' });
    expect(lines[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z info {2}\[r-1\] request status=201 path=\/mesos\/$/);
  });

  it('writes one JSON object per line with the request id', () => {
    const { lines, log } = capture('json');
    log.child({ requestId: 'r-2' }).warn('slow', { ms: 12 });
    expect(JSON.parse(lines[0])).to.include({ level: 'warn', message: 'slow', requestId: 'r-2', ms: 12 });
  });

  it('keeps an entry on one line whatever its values hold: control characters, NEL and the Unicode separators are escaped', () => {
    const evil = 'a\nfake 2026-01-01T00:00:00Z error  forged\u0085b\u2028c\u2029d\u001b[31m';
    const text = capture('text');
    text.log.info(evil, { tenant: evil });
    expect(text.lines).to.have.length(1);
    expect(text.lines[0]).to.contain('a\\nfake 2026-01-01T00:00:00Z error  forged\\u0085b\\u2028c\\u2029d\\u001b[31m');
    expect(text.lines[0]).to.not.match(/[\n\u0085\u2028\u2029\u001b]/);
    const json = capture('json');
    json.log.info(evil, { tenant: evil });
    expect(json.lines[0]).to.not.match(/[\n\u0085\u2028\u2029\u001b]/);
    expect(JSON.parse(json.lines[0])).to.include({ message: evil, tenant: evil });
  });

  it('drops entries below the configured level', () => {
    const { lines, log } = capture('json');
    log.debug('hidden');
    expect(lines).to.deep.equal([]);
  });
});
