import { expect } from 'chai';
import { decideDrain } from '../../service-orchestrator/drain/decide.js';

const S = 1000;
const a3 = 'agent 3 of 3 (127.10.0.5)';
const a2 = 'agent 2 of 3 (127.10.0.4)';

describe('SO drain decisions', () => {
  it('is drained when no leaving agent holds a task', () => {
    expect(decideDrain({ agents: [{ label: a3, tasks: 0 }], since: 0 }, 4 * S, 300 * S)).to.deep.equal({ kind: 'drained', message: `drained ${a3} in 4 s` });
  });

  it('waits while tasks are left, saying how many and where', () => {
    expect(
      decideDrain(
        {
          agents: [
            { label: a2, tasks: 0 },
            { label: a3, tasks: 2 },
          ],
          since: 0,
        },
        10 * S,
        300 * S,
      ),
    ).to.deep.equal({
      kind: 'wait',
      message: `draining before removal, 10 s so far: ${a3}: 2 tasks left`,
    });
  });

  it('waits when the master cannot say what runs there', () => {
    expect(decideDrain({ agents: [{ label: a3 }], since: 0 }, 1 * S, 300 * S)).to.deep.include({
      kind: 'wait',
      message: `draining before removal, 1 s so far: ${a3}: the master cannot say what runs there`,
    });
  });

  it('gives up at the drain deadline and removes the agents anyway', () => {
    expect(decideDrain({ agents: [{ label: a3, tasks: 1 }], since: 0 }, 300 * S, 300 * S)).to.deep.equal({
      kind: 'give-up',
      message: `drain gave up after 300 s (${a3}: 1 task left); removing the agents anyway`,
    });
  });

  it('gives up at once with a deadline of zero', () => {
    expect(decideDrain({ agents: [{ label: a3, tasks: 1 }], since: 0 }, 0, 0).kind).to.equal('give-up');
  });
});
