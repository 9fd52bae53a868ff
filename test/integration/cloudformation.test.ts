import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  ListStacksCommand,
  UpdateStackCommand,
  ValidateTemplateCommand,
  waitUntilStackCreateComplete,
  waitUntilStackDeleteComplete,
  waitUntilStackUpdateComplete,
} from '@aws-sdk/client-cloudformation';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedSm, type EmbeddedSm } from '../support/embedded-sm.js';
import { call } from '../support/http.js';
import { DEMO, ETC } from '../support/sm.js';

const TEMPLATE = readFileSync(join(ETC, 'templates', 'mesos-cluster.yaml'), 'utf8');
const DEMO_KEYS = { accessKeyId: 'AKIADEMOLOCAL0000001', secretAccessKey: 'demo-aws-secret-key' };
const OTHER_KEYS = { accessKeyId: 'AKIAOTHERLOCAL000001', secretAccessKey: 'other-aws-secret-key' };
/** Waiters look every second here (the AWS tools wait 30 s between looks). */
const WAIT = { maxWaitTime: 120, minDelay: 1, maxDelay: 1 };

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, ...(e.$metadata?.httpStatusCode === undefined ? {} : { status: e.$metadata.httpStatusCode }) };
  }
  throw new Error('expected a refusal');
}

describe('CloudFormation-compatible API through the AWS SDK', function () {
  this.timeout(120_000);
  let embedded: EmbeddedSm;
  let demo: CloudFormationClient;
  let other: CloudFormationClient;
  const client = (credentials: typeof DEMO_KEYS, region = 'us-east-1'): CloudFormationClient =>
    new CloudFormationClient({ endpoint: `${embedded.sm.url}/cloudformation/`, region, credentials, maxAttempts: 1 });

  before(async () => {
    // The lockfile pins this SDK, a test-only client; its notice about later versions and Node 22 is not for this run.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
    embedded = await startEmbeddedSm();
    demo = client(DEMO_KEYS);
    other = client(OTHER_KEYS);
  });
  after(async () => {
    demo.destroy();
    other.destroy();
    await embedded.close();
  });

  const liveVms = async (): Promise<unknown[]> =>
    (await call('GET', `${embedded.sm.cloudstackUrl}/sim/vms`)).json<Array<{ state: string }>>().filter((vm) => vm.state !== 'Expunged');

  it('creates a stack from the shipped template and waits for it; the outputs reach the live Mesos master', async () => {
    const created = await demo.send(
      new CreateStackCommand({
        StackName: 'analytics',
        TemplateBody: TEMPLATE,
        Parameters: [{ ParameterKey: 'Agents', ParameterValue: '1' }],
        Tags: [{ Key: 'owner', Value: 'me' }],
        ClientRequestToken: 'create-analytics-1',
      }),
    );
    expect(created.StackId).to.match(/^arn:aws:cloudformation:us-east-1:\d{12}:stack\/analytics\/[0-9a-f-]{36}$/);
    const again = await demo.send(new CreateStackCommand({ StackName: 'analytics', TemplateBody: TEMPLATE, ClientRequestToken: 'create-analytics-1' }));
    expect(again.StackId, 'the same token is the same request').to.equal(created.StackId);
    const duplicate = await failure(demo.send(new CreateStackCommand({ StackName: 'analytics', TemplateBody: TEMPLATE })));
    expect(duplicate).to.include({ name: 'AlreadyExistsException', message: 'Stack [analytics] already exists' });

    const waited = await waitUntilStackCreateComplete({ client: demo, ...WAIT }, { StackName: 'analytics' });
    expect(waited.state).to.equal('SUCCESS');
    const [stack] = (await demo.send(new DescribeStacksCommand({ StackName: 'analytics' }))).Stacks!;
    expect(stack.StackStatus).to.equal('CREATE_COMPLETE');
    expect(stack.Parameters).to.deep.include({ ParameterKey: 'Agents', ParameterValue: '1' });
    expect(stack.Tags).to.deep.equal([{ Key: 'owner', Value: 'me' }]);
    const outputs = Object.fromEntries(stack.Outputs!.map((o) => [o.OutputKey, o.OutputValue]));
    expect(outputs['AgentsActive']).to.equal('1');
    const slaves = (await call('GET', `${outputs['MasterUrl']}/master/slaves`)).json<{ slaves: Array<{ active: boolean }> }>().slaves;
    expect(slaves.filter((s) => s.active)).to.have.length(1);
    expect(outputs['ZooKeeper']).to.match(/^zk:\/\/127\.\d+\.\d+\.\d+:2181\/mesos$/);

    const events = (await demo.send(new DescribeStackEventsCommand({ StackName: 'analytics' }))).StackEvents!;
    expect(events.map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`).reverse()).to.deep.equal([
      'analytics CREATE_IN_PROGRESS',
      'Cluster CREATE_IN_PROGRESS',
      'Cluster CREATE_COMPLETE',
      'analytics CREATE_COMPLETE',
    ]);
    const [resource] = (await demo.send(new DescribeStackResourcesCommand({ StackName: 'analytics' }))).StackResources!;
    expect(resource).to.include({ LogicalResourceId: 'Cluster', ResourceType: 'CloudStack::Mesos::Cluster', ResourceStatus: 'CREATE_COMPLETE' });
    const occi = await call('GET', `${embedded.sm.url}/mesos/${resource.PhysicalResourceId}`, { headers: { ...DEMO, Accept: 'application/occi+json' } });
    const instance = occi.json<{ title: string; attributes: Record<string, unknown> }>();
    expect([instance.title, instance.attributes['mcn.service.state']]).to.deep.equal(['analytics cluster', 'ready']);
    expect((await demo.send(new ListStackResourcesCommand({ StackName: 'analytics' }))).StackResourceSummaries).to.have.length(1);
    expect((await demo.send(new GetTemplateCommand({ StackName: 'analytics' }))).TemplateBody).to.equal(TEMPLATE);
  });

  it('scales through an update and its waiter, and refuses what cannot change with the reason', async () => {
    await demo.send(
      new UpdateStackCommand({ StackName: 'analytics', UsePreviousTemplate: true, Parameters: [{ ParameterKey: 'Agents', ParameterValue: '2' }] }),
    );
    expect((await waitUntilStackUpdateComplete({ client: demo, ...WAIT }, { StackName: 'analytics' })).state).to.equal('SUCCESS');
    const [stack] = (await demo.send(new DescribeStacksCommand({ StackName: 'analytics' }))).Stacks!;
    expect(stack.StackStatus).to.equal('UPDATE_COMPLETE');
    expect(stack.Outputs!.find((o) => o.OutputKey === 'AgentsActive')!.OutputValue).to.equal('2');

    const same = await failure(
      demo.send(
        new UpdateStackCommand({ StackName: 'analytics', UsePreviousTemplate: true, Parameters: [{ ParameterKey: 'Agents', UsePreviousValue: true }] }),
      ),
    );
    expect(same).to.include({ name: 'ValidationError', message: 'No updates are to be performed.' });
    const masters = TEMPLATE.replace('Masters: 1', 'Masters: 3');
    const fixed = await failure(
      demo.send(new UpdateStackCommand({ StackName: 'analytics', TemplateBody: masters, Parameters: [{ ParameterKey: 'Agents', UsePreviousValue: true }] })),
    );
    expect(fixed).to.include({
      name: 'ValidationError',
      message: 'Resources.Cluster.Properties.Masters cannot change on an existing resource (it is fixed at creation).',
    });
  });

  it('validates templates, naming the path of what is wrong', async () => {
    const valid = await demo.send(new ValidateTemplateCommand({ TemplateBody: TEMPLATE }));
    expect(valid.Description).to.equal('An Apache Mesos cluster with Marathon on CloudStack');
    expect(valid.Parameters!.map((p) => [p.ParameterKey, p.DefaultValue])).to.deep.equal([
      ['Agents', '2'],
      ['Zone', 'sim-zone-1'],
    ]);
    const ha = await demo.send(new ValidateTemplateCommand({ TemplateBody: readFileSync(join(ETC, 'templates', 'mesos-cluster-ha.yaml'), 'utf8') }));
    expect(ha.Parameters!.map((p) => p.ParameterKey)).to.deep.equal(['Agents', 'MinReady', 'Zone']);
    const zero = await failure(demo.send(new ValidateTemplateCommand({ TemplateBody: TEMPLATE.replace('Masters: 1', 'Masters: 1\n      MinReady: 0') })));
    expect(zero).to.include({ name: 'ValidationError', message: 'Resources.Cluster.Properties.MinReady: 0 is below the minimum 1', status: 400 });
    const unknown = await failure(demo.send(new ValidateTemplateCommand({ TemplateBody: 'Resources: {Vm: {Type: AWS::EC2::Instance}}' })));
    expect(unknown.message).to.equal('Template format error: Unrecognized resource types: [AWS::EC2::Instance]');
    const parameter = await failure(
      demo.send(new CreateStackCommand({ StackName: 'big', TemplateBody: TEMPLATE, Parameters: [{ ParameterKey: 'Agents', ParameterValue: '500' }] })),
    );
    expect(parameter.message).to.equal("Parameter 'Agents' must be a number not greater than 100");
  });

  it('refuses a wrong signature or an unknown key, and keeps tenants to their own stacks', async () => {
    const forged = client({ ...DEMO_KEYS, secretAccessKey: 'not-the-secret-key' });
    expect(await failure(forged.send(new DescribeStacksCommand({})))).to.include({ name: 'SignatureDoesNotMatch', status: 403 });
    const stranger = client({ accessKeyId: 'AKIANOBODY0000000001', secretAccessKey: 'whatever-secret-key' });
    expect(await failure(stranger.send(new DescribeStacksCommand({})))).to.include({ name: 'InvalidClientTokenId', status: 403 });
    forged.destroy();
    stranger.destroy();
    expect((await other.send(new DescribeStacksCommand({}))).Stacks).to.deep.equal([]);
    expect(await failure(other.send(new DescribeStacksCommand({ StackName: 'analytics' })))).to.include({
      name: 'ValidationError',
      message: 'Stack with id analytics does not exist',
    });
    await other.send(new DeleteStackCommand({ StackName: 'analytics' }));
    expect((await demo.send(new DescribeStacksCommand({ StackName: 'analytics' }))).Stacks![0].StackStatus, "another tenant's delete touches nothing").to.equal(
      'UPDATE_COMPLETE',
    );
  });

  it('makes the clusters of one stack in dependency order, from a JSON template', async () => {
    const template = {
      Resources: {
        Batch: {
          Type: 'CloudStack::Mesos::Cluster',
          Properties: { Agents: 1, Title: { 'Fn::Join': [' ', ['next to', { 'Fn::GetAtt': ['Web', 'MasterUrl'] }]] } },
        },
        Web: { Type: 'CloudStack::Mesos::Cluster', Properties: { Agents: 1, Marathon: false } },
      },
      Outputs: { Clusters: { Value: { 'Fn::Sub': '${Web} ${Batch}' } } },
    };
    await demo.send(new CreateStackCommand({ StackName: 'pair', TemplateBody: JSON.stringify(template) }));
    expect((await waitUntilStackCreateComplete({ client: demo, ...WAIT }, { StackName: 'pair' })).state).to.equal('SUCCESS');
    const events = (await demo.send(new DescribeStackEventsCommand({ StackName: 'pair' }))).StackEvents!.reverse();
    const order = events.filter((e) => e.LogicalResourceId !== 'pair').map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`);
    expect(order).to.deep.equal(['Web CREATE_IN_PROGRESS', 'Web CREATE_COMPLETE', 'Batch CREATE_IN_PROGRESS', 'Batch CREATE_COMPLETE']);
    const resources = Object.fromEntries(
      (await demo.send(new DescribeStackResourcesCommand({ StackName: 'pair' }))).StackResources!.map((r) => [r.LogicalResourceId, r.PhysicalResourceId]),
    );
    const [stack] = (await demo.send(new DescribeStacksCommand({ StackName: 'pair' }))).Stacks!;
    expect(stack.Outputs).to.deep.equal([{ OutputKey: 'Clusters', OutputValue: `${resources['Web']} ${resources['Batch']}` }]);
    const get = (id: string | undefined) => call('GET', `${embedded.sm.url}/mesos/${id}`, { headers: { ...DEMO, Accept: 'application/occi+json' } });
    const web = (await get(resources['Web'])).json<{ attributes: Record<string, unknown> }>();
    const batch = (await get(resources['Batch'])).json<{ title: string }>();
    expect(batch.title).to.equal(`next to ${String(web.attributes['mesos.master.url'])}`);
    await demo.send(new DeleteStackCommand({ StackName: 'pair' }));
    expect((await waitUntilStackDeleteComplete({ client: demo, ...WAIT }, { StackName: 'pair' })).state).to.equal('SUCCESS');
  });

  it('carries on with a stack after the service manager restarts', async () => {
    await demo.send(new CreateStackCommand({ StackName: 'durable', TemplateBody: TEMPLATE, Parameters: [{ ParameterKey: 'Agents', ParameterValue: '1' }] }));
    await embedded.restart();
    demo.destroy();
    demo = client(DEMO_KEYS);
    expect((await waitUntilStackCreateComplete({ client: demo, ...WAIT }, { StackName: 'durable' })).state).to.equal('SUCCESS');
    const [stack] = (await demo.send(new DescribeStacksCommand({ StackName: 'durable' }))).Stacks!;
    expect(stack.Outputs!.find((o) => o.OutputKey === 'AgentsActive')!.OutputValue).to.equal('1');
    await demo.send(new DeleteStackCommand({ StackName: 'durable' }));
    expect((await waitUntilStackDeleteComplete({ client: demo, ...WAIT }, { StackName: 'durable' })).state).to.equal('SUCCESS');
  });

  it('rolls back a stack whose cluster fails, and deletes a stack until its VMs are gone', async () => {
    await demo.send(
      new CreateStackCommand({ StackName: 'broken', TemplateBody: TEMPLATE, Parameters: [{ ParameterKey: 'Zone', ParameterValue: 'no-such-zone' }] }),
    );
    const waited = await waitUntilStackCreateComplete({ client: demo, ...WAIT }, { StackName: 'broken' }).catch((error: unknown) => error as Error);
    expect(String(waited)).to.include('ROLLBACK_COMPLETE');
    const [broken] = (await demo.send(new DescribeStacksCommand({ StackName: 'broken' }))).Stacks!;
    expect([broken.StackStatus, broken.StackStatusReason]).to.deep.equal(['ROLLBACK_COMPLETE', 'The following resource(s) failed to create: [Cluster]. ']);
    await demo.send(new DeleteStackCommand({ StackName: 'broken' }));

    await demo.send(new DeleteStackCommand({ StackName: 'analytics' }));
    expect((await waitUntilStackDeleteComplete({ client: demo, ...WAIT }, { StackName: 'analytics' })).state).to.equal('SUCCESS');
    await waitUntilStackDeleteComplete({ client: demo, ...WAIT }, { StackName: 'broken' });
    expect(await liveVms()).to.deep.equal([]);
    const summaries = (await demo.send(new ListStacksCommand({ StackStatusFilter: ['DELETE_COMPLETE'] }))).StackSummaries!;
    expect(summaries.map((s) => s.StackName).sort()).to.deep.equal(['analytics', 'broken', 'durable', 'pair']);
    expect((await demo.send(new DescribeStacksCommand({}))).Stacks).to.deep.equal([]);
  });
});
