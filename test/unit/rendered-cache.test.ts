import { expect } from 'chai';
import { RenderedCache } from '../../service-manager/http/rendered-cache.js';

describe('SM rendered instances cache', () => {
  it('gives a rendering back only for the version it was rendered at', () => {
    const members = new RenderedCache<string>(10);
    members.set('u1', 3, '{"v":3}');
    expect(members.get('u1', 3)).to.equal('{"v":3}');
    expect(members.get('u1', 4), 'changed since').to.equal(undefined);
    members.set('u1', 4, '{"v":4}');
    expect([members.get('u1', 4), members.size]).to.deep.equal(['{"v":4}', 1]);
  });

  it('drops the least recently used beyond its capacity', () => {
    const members = new RenderedCache<string>(2);
    members.set('a', 1, 'A');
    members.set('b', 1, 'B');
    expect(members.get('a', 1)).to.equal('A');
    members.set('c', 1, 'C');
    expect([members.get('a', 1), members.get('b', 1), members.get('c', 1)]).to.deep.equal(['A', undefined, 'C']);
  });
});
