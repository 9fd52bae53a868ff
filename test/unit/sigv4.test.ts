import { expect } from 'chai';
import { createHash, createHmac } from 'node:crypto';
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  signingKey,
  stringToSign,
  verifySigV4,
  type SignedRequest,
} from '../../service-manager/cloudformation/sigv4.js';

/** The published SigV4 example credentials and request time. */
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const AKID = 'AKIDEXAMPLE';
const AT = Date.UTC(2015, 7, 30, 12, 36, 0);
const POLICY = { service: 'service', skewMs: 5 * 60_000 };
const secretOf = (id: string): string | undefined => (id === AKID ? SECRET : undefined);

function request(overrides: Partial<SignedRequest> = {}, headers: Record<string, string> = {}): SignedRequest {
  return {
    method: 'GET',
    path: '/',
    query: '',
    headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z', ...headers },
    body: Buffer.alloc(0),
    ...overrides,
  };
}

const authorization = (signedHeaders: string, signature: string, scope = '20150830/us-east-1/service/aws4_request'): string =>
  `AWS4-HMAC-SHA256 Credential=${AKID}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;

/** Signs a request the way a client does, for the cases the published vectors do not cover. */
function signed(base: SignedRequest, region = 'us-east-1', secret = SECRET): SignedRequest {
  const names = Object.keys(base.headers).sort();
  const scope = `20150830/${region}/service/aws4_request`;
  const signature = createHmac('sha256', signingKey(secret, '20150830', region, 'service'))
    .update(stringToSign('20150830T123600Z', scope, canonicalRequest(base, names)))
    .digest('hex');
  return { ...base, headers: { ...base.headers, authorization: authorization(names.join(';'), signature, scope) } };
}

describe('SigV4 verification', () => {
  it('derives the signing key of the published example', () => {
    expect(signingKey(SECRET, '20120215', 'us-east-1', 'iam').toString('hex')).to.equal('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
    expect(signingKey(SECRET, '20150830', 'us-east-1', 'service').toString('hex')).to.equal('938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75');
  });

  it('builds the canonical request and string to sign of get-vanilla', () => {
    const canonical = canonicalRequest(request(), ['host', 'x-amz-date']);
    expect(canonical).to.equal(
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(createHash('sha256').update(canonical).digest('hex')).to.equal('bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63');
  });

  it('accepts the published signatures of get-vanilla, get-vanilla-query-order-key-case and post-x-www-form-urlencoded', () => {
    const vanilla = request({}, { authorization: authorization('host;x-amz-date', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31') });
    expect(verifySigV4(vanilla, secretOf, AT, POLICY)).to.deep.equal({ ok: true, accessKeyId: AKID, region: 'us-east-1' });
    const ordered = request(
      { query: 'Param2=value2&Param1=value1' },
      { authorization: authorization('host;x-amz-date', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500') },
    );
    expect(verifySigV4(ordered, secretOf, AT, POLICY).ok).to.equal(true);
    const form = request(
      { method: 'POST', body: Buffer.from('Param1=value1') },
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: authorization('content-type;host;x-amz-date', 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a'),
      },
    );
    expect(verifySigV4(form, secretOf, AT, POLICY).ok).to.equal(true);
  });

  it('refuses a body, a query or a signed header changed after signing', () => {
    const form = signed(request({ method: 'POST', body: Buffer.from('Action=DescribeStacks') }, { 'content-type': 'application/x-www-form-urlencoded' }));
    expect(verifySigV4(form, secretOf, AT, POLICY).ok).to.equal(true);
    for (const tampered of [
      { ...form, body: Buffer.from('Action=DeleteStack') },
      { ...form, query: 'Action=DeleteStack' },
      { ...form, headers: { ...form.headers, 'content-type': 'text/plain' } },
      { ...form, method: 'PUT' },
    ]) {
      expect(verifySigV4(tampered, secretOf, AT, POLICY)).to.include({ ok: false, code: 'SignatureDoesNotMatch', status: 403 });
    }
  });

  it('accepts any region the client signed for, and refuses another service', () => {
    expect(verifySigV4(signed(request(), 'eu-west-3'), secretOf, AT, POLICY)).to.deep.equal({ ok: true, accessKeyId: AKID, region: 'eu-west-3' });
    const verdict = verifySigV4(signed(request()), secretOf, AT, { ...POLICY, service: 'cloudformation' });
    expect(verdict).to.deep.include({ ok: false, code: 'SignatureDoesNotMatch', message: "Credential should be scoped to correct service: 'cloudformation'." });
  });

  it('refuses requests outside the clock-skew window, saying by how much', () => {
    const fine = signed(request());
    expect(verifySigV4(fine, secretOf, AT + 5 * 60_000, POLICY).ok).to.equal(true);
    expect(verifySigV4(fine, secretOf, AT + 10 * 60_000, POLICY)).to.deep.include({
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: 'Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z (20150830T124600Z - 5 min.)',
    });
    expect(verifySigV4(fine, secretOf, AT - 10 * 60_000, POLICY)).to.deep.include({ ok: false, code: 'SignatureDoesNotMatch' });
  });

  it('tells a missing, incomplete or foreign authorization apart', () => {
    const cases: Array<[SignedRequest, string, number]> = [
      [request(), 'MissingAuthenticationToken', 403],
      [request({}, { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request' }), 'IncompleteSignature', 400],
      [request({}, { authorization: 'AWS3 whatever' }), 'IncompleteSignature', 400],
      [signed(request(), 'us-east-1', 'another secret'), 'SignatureDoesNotMatch', 403],
      [{ ...signed(request()), headers: { ...signed(request()).headers, 'x-amz-security-token': 'session' } }, 'InvalidClientTokenId', 403],
    ];
    for (const [req, code, status] of cases) expect(verifySigV4(req, secretOf, AT, POLICY), code).to.include({ ok: false, code, status });
    const unknown = signed(request());
    const verdict = verifySigV4(unknown, () => undefined, AT, POLICY);
    expect(verdict).to.deep.include({ ok: false, code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' });
  });

  it('puts paths and queries in canonical form: segments resolved and encoded once, pairs sorted and strictly encoded', () => {
    expect(canonicalUri('/cloudformation/')).to.equal('/cloudformation/');
    expect(canonicalUri('/a//b/./c/../d')).to.equal('/a/b/d');
    expect(canonicalUri('/with space/%41')).to.equal('/with%20space/A');
    expect(canonicalQuery('b=2&a=x y&a=1&c')).to.equal('a=1&a=x%20y&b=2&c=');
    expect(canonicalQuery('k=a%2Fb*')).to.equal('k=a%2Fb%2A');
  });
});
