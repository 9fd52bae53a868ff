import { createHash, generateKeyPairSync } from 'node:crypto';
import { invalidParameter } from '../api-error.js';
import { DOMAIN, type KeyPair } from '../cloud.js';
import { paged } from '../params.js';
import { keyword, PAGING, str, visible, type Command, type CommandContext } from './command.js';

const PUBLIC_KEY = /^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521))\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/;

function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

function mpint(base64url: string): Buffer {
  const bytes = Buffer.from(base64url, 'base64url');
  return sshString(bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

/** The MD5 fingerprint CloudStack shows, aa:bb:..., of the key's SSH wire form. */
function fingerprint(blob: Buffer): string {
  return createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');
}

function keypairJson(pair: KeyPair): Record<string, unknown> {
  return { id: pair.id, name: pair.name, fingerprint: pair.fingerprint, account: pair.account.name, domainid: DOMAIN.id, domain: DOMAIN.name };
}

function checkFree(context: CommandContext, name: string): void {
  if (context.cloud.keypairs.some((k) => k.name === name && k.account === context.account)) {
    throw invalidParameter(`A key pair with name '${name}' already exists.`);
  }
}

const create: Command = {
  name: 'createSSHKeyPair',
  description: 'Creates an SSH key pair; the private key is returned only now.',
  async: false,
  params: [{ name: 'name', type: 'string', required: true, description: 'key pair name' }],
  handle(context) {
    const name = str(context.params, 'name')!;
    checkFree(context, name);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = publicKey.export({ format: 'jwk' });
    const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(jwk.e!), mpint(jwk.n!)]);
    const pair: KeyPair = { id: context.cloud.newId(), name, fingerprint: fingerprint(blob), account: context.account };
    context.cloud.keypairs.push(pair);
    return { keypair: { ...keypairJson(pair), privatekey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() } };
  },
};

const register: Command = {
  name: 'registerSSHKeyPair',
  description: 'Registers the public key of an SSH key pair.',
  async: false,
  params: [
    { name: 'name', type: 'string', required: true, description: 'key pair name' },
    { name: 'publickey', type: 'string', required: true, length: 5120, description: 'OpenSSH public key' },
  ],
  handle(context) {
    const name = str(context.params, 'name')!;
    const match = PUBLIC_KEY.exec(str(context.params, 'publickey')!.trim());
    if (!match) throw invalidParameter('Public key is invalid');
    checkFree(context, name);
    const pair: KeyPair = { id: context.cloud.newId(), name, fingerprint: fingerprint(Buffer.from(match[2], 'base64')), account: context.account };
    context.cloud.keypairs.push(pair);
    return { keypair: keypairJson(pair) };
  },
};

const remove: Command = {
  name: 'deleteSSHKeyPair',
  description: 'Deletes an SSH key pair.',
  async: false,
  params: [{ name: 'name', type: 'string', required: true, description: 'key pair name' }],
  handle(context) {
    const name = str(context.params, 'name')!;
    const index = context.cloud.keypairs.findIndex((k) => k.name === name && k.account === context.account);
    if (index === -1) {
      throw invalidParameter(`A key pair with name '${name}' does not exist for account ${context.account.name} in domain id=${DOMAIN.id}`);
    }
    context.cloud.keypairs.splice(index, 1);
    return { success: true };
  },
};

const list: Command = {
  name: 'listSSHKeyPairs',
  description: 'Lists SSH key pairs.',
  async: false,
  params: [{ name: 'name', type: 'string', description: 'key pair name' }, { name: 'fingerprint', type: 'string', description: 'fingerprint' }, ...PAGING],
  handle(context) {
    const { params } = context;
    const found = context.cloud.keypairs.filter(
      (k) =>
        visible(context, k.account) &&
        (params['name'] === undefined || k.name === params['name']) &&
        (params['fingerprint'] === undefined || k.fingerprint === params['fingerprint']) &&
        keyword(params, k.name),
    );
    return paged(found.map(keypairJson), params, context.cloud.settings.pageSize, 'sshkeypair');
  },
};

export const KEYPAIR_COMMANDS: readonly Command[] = [create, register, remove, list];
