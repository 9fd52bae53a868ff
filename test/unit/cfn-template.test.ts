import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resourceTypes } from '../../service-manager/cloudformation/resources/index.js';
import { evaluate, parseTemplate, parseTemplateText, resolveParameters, TemplateError, type Scope } from '../../service-manager/cloudformation/template.js';
import { buildServiceType } from '../../service-manager/service-type/manifest.js';
import { thrownBy } from '../support/expect.js';
import { ETC } from '../support/sm.js';

const type = buildServiceType(JSON.parse(readFileSync(join(ETC, 'service_manifest.json'), 'utf8')), () => 'x');
const TYPES = resourceTypes(type);
const refusal = (text: string): string => thrownBy(() => parseTemplate(text, TYPES), TemplateError).message;

const TWO_CLUSTERS = `
AWSTemplateFormatVersion: "2010-09-09"
Description: Two clusters
Parameters:
  Agents: {Type: Number, Default: 2, MinValue: 1, MaxValue: 10}
  Zone: {Type: String, AllowedValues: [sim-zone-1, sim-zone-2], Default: sim-zone-1}
  Secret: {Type: String, NoEcho: true, Default: hush}
Resources:
  Batch:
    Type: CloudStack::Mesos::Cluster
    DependsOn: Web
    Properties:
      Agents: !Ref Agents
      Zone: !Ref Zone
      Title: !Sub "\${AWS::StackName}-batch next to \${Web.MasterUrl}"
  Web:
    Type: CloudStack::Mesos::Cluster
    Properties: {Agents: 1, Marathon: true}
Outputs:
  WebMaster: {Value: !GetAtt Web.MasterUrl, Description: where Web leads}
  Both: {Value: !Join [",", [!GetAtt Web.MasterUrl, !GetAtt [Batch, MasterUrl]]]}
`;

describe('CloudFormation templates', () => {
  it('reads YAML short forms into the long form, and JSON as it is', () => {
    expect(parseTemplateText('A: !Ref X\nB: !GetAtt R.Attr.Sub\nC: !Join [",", [!Ref X]]\nD: !Sub "${X}"\n')).to.deep.equal({
      A: { Ref: 'X' },
      B: { 'Fn::GetAtt': ['R', 'Attr.Sub'] },
      C: { 'Fn::Join': [',', [{ Ref: 'X' }]] },
      D: { 'Fn::Sub': '${X}' },
    });
    expect(parseTemplateText(' {"A": {"Ref": "X"}}')).to.deep.equal({ A: { Ref: 'X' } });
  });

  it('orders resources after what they need, by DependsOn and by reference', () => {
    const template = parseTemplate(TWO_CLUSTERS, TYPES);
    expect(template.order).to.deep.equal(['Web', 'Batch']);
    expect(template.resources.get('Batch')!.needs).to.deep.equal(['Web']);
    expect(template.description).to.equal('Two clusters');
    expect(template.parameters.get('Secret')!.noEcho).to.equal(true);
  });

  it('evaluates Ref, Fn::GetAtt, Fn::Sub and Fn::Join against parameters, pseudo parameters and resources', () => {
    const template = parseTemplate(TWO_CLUSTERS, TYPES);
    const scope: Scope = {
      parameters: resolveParameters(template, { Agents: '3' }),
      pseudo: { 'AWS::StackName': 'two' },
      ref: (resource) => `${resource}-id`,
      attribute: (resource, attribute) => `${resource}:${attribute}`,
    };
    expect(evaluate(template.resources.get('Batch')!.properties, scope)).to.deep.equal({
      Agents: '3',
      Zone: 'sim-zone-1',
      Title: 'two-batch next to Web:MasterUrl',
    });
    expect(evaluate(template.outputs.get('Both')!.value, scope)).to.equal('Web:MasterUrl,Batch:MasterUrl');
    expect(evaluate({ A: { Ref: 'AWS::NoValue' }, B: { 'Fn::Sub': '${!Literal}' } }, scope)).to.deep.equal({ B: '${Literal}' });
    expect(TYPES.get('CloudStack::Mesos::Cluster')!.attributes({ Agents: '3', Marathon: 'false' }, 'Resources.Batch.Properties')).to.deep.equal({
      'mesos.agents': 3,
      'mesos.marathon': false,
    });
  });

  it('checks parameter values: required, allowed values, range', () => {
    const template = parseTemplate(TWO_CLUSTERS, TYPES);
    const refused = (given: Record<string, string>): string => thrownBy(() => resolveParameters(template, given), TemplateError).message;
    expect(refused({ Agents: '11' })).to.equal("Parameter 'Agents' must be a number not greater than 10");
    expect(refused({ Agents: 'many' })).to.equal("Parameter 'Agents' must be a number; got 'many'");
    expect(refused({ Zone: 'moon' })).to.equal("Parameter 'Zone' must be one of AllowedValues");
    expect(refused({ Colour: 'red' })).to.equal('Parameters: [Colour] do not exist in the template');
    const required = parseTemplate('Parameters: {Name: {Type: String}}\nResources: {C: {Type: CloudStack::Mesos::Cluster}}\n', TYPES);
    expect(thrownBy(() => resolveParameters(required, {}), TemplateError).message).to.equal('Parameters: [Name] must have values');
  });

  it('names the template path of what it refuses', () => {
    const cluster = (properties: string): string => `Resources:\n  Cluster:\n    Type: CloudStack::Mesos::Cluster\n    Properties: ${properties}\n`;
    expect(refusal(cluster('{Agents: 0}'))).to.equal('Resources.Cluster.Properties.Agents: 0 is below the minimum 1');
    expect(refusal(cluster('{Masters: 2}'))).to.equal('Resources.Cluster.Properties.Masters: 2 is not one of 1, 3, 5');
    expect(refusal(cluster('{Size: 3}'))).to.match(
      /^Resources\.Cluster\.Properties\.Size: CloudStack::Mesos::Cluster has no such property; it takes Masters, Agents/,
    );
    expect(refusal(cluster('{Agents: !Ref Nowhere}'))).to.equal(
      'Template format error: Unresolved resource dependencies [Nowhere] in the Resources block of the template (at Resources.Cluster.Properties.Agents)',
    );
    expect(refusal(cluster('{Agents: !Select [0, [1]]}'))).to.match(
      /^Template format error: Fn::Select is not supported \(at Resources\.Cluster\.Properties\.Agents\)/,
    );
    expect(refusal('Resources: {}\n')).to.equal('Template format error: At least one Resources member must be defined.');
    expect(refusal('Resources: {Vm: {Type: AWS::EC2::Instance}}\n')).to.equal('Template format error: Unrecognized resource types: [AWS::EC2::Instance]');
    expect(refusal('Resources: {A: {Type: CloudStack::Mesos::Cluster, DependsOn: B}, B: {Type: CloudStack::Mesos::Cluster, DependsOn: A}}\n')).to.equal(
      'Template format error: Circular dependency between resources: [A, B, A]',
    );
    expect(refusal('Resources: [\n')).to.match(/^Template format error: YAML not well-formed/);
    expect(refusal('{"Resources": ')).to.match(/^Template format error: JSON not well-formed/);
    expect(refusal('Colour: red\nResources: {C: {Type: CloudStack::Mesos::Cluster}}\n')).to.equal(
      'Template format error: Invalid template property or properties [Colour]',
    );
  });
});
