import { describe, expect, it } from 'vitest';
import { loadConfig, parseSlaves } from '../../handler/config';
import { ConfigurationError } from '../../handler/errors';

const slaves = (value: unknown): string => JSON.stringify(value);

describe('Function: loadConfig', () => {
  it('reads every slave field and the defaults', () => {
    // Prepare
    const env = {
      REPLICATOR_SLAVES: slaves({
        eu: { region: 'eu-west-1', table_name: 'orders-eu' },
        partner: {
          region: 'us-east-1',
          table_name: 'orders',
          role_arn: 'arn:aws:iam::210987654321:role/replica-writer',
          external_id: 'shared-secret',
          endpoint: 'https://dynamodb.us-east-1.amazonaws.com',
        },
      }),
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config).toEqual({
      slaves: [
        { name: 'eu', region: 'eu-west-1', tableName: 'orders-eu' },
        {
          name: 'partner',
          region: 'us-east-1',
          tableName: 'orders',
          roleArn: 'arn:aws:iam::210987654321:role/replica-writer',
          externalId: 'shared-secret',
          endpoint: 'https://dynamodb.us-east-1.amazonaws.com',
        },
      ],
      skipTtlDeletes: false,
      writeConcurrency: 8,
      deadlineMarginMs: 2000,
      metricsNamespace: 'DynamoReplicator',
    });
  });

  it('treats null optional fields as absent, as jsonencode writes them', () => {
    // Act
    const [slave] = parseSlaves(slaves({ eu: { region: 'eu-west-1', table_name: 'orders-eu', role_arn: null, external_id: null, endpoint: null } }));

    // Assess
    expect(slave).toEqual({ name: 'eu', region: 'eu-west-1', tableName: 'orders-eu' });
  });

  it('reads the optional settings', () => {
    // Act
    const config = loadConfig({
      REPLICATOR_SLAVES: slaves({ eu: { region: 'eu-west-1', table_name: 'orders-eu' } }),
      REPLICATOR_SKIP_TTL_DELETES: 'true',
      REPLICATOR_WRITE_CONCURRENCY: '16',
      REPLICATOR_DEADLINE_MARGIN_MS: '500',
      REPLICATOR_METRICS_NAMESPACE: 'Team/Replication',
    });

    // Assess
    expect(config).toMatchObject({ skipTtlDeletes: true, writeConcurrency: 16, deadlineMarginMs: 500, metricsNamespace: 'Team/Replication' });
  });

  it.each([
    ['unset', undefined, 'REPLICATOR_SLAVES: is not set'],
    ['not JSON', '{eu:', 'REPLICATOR_SLAVES: is not valid JSON'],
    ['an array', '[]', 'REPLICATOR_SLAVES: must be a JSON object keyed by slave name'],
    ['empty', '{}', 'REPLICATOR_SLAVES: names no slave'],
    ['a slave that is not an object', slaves({ eu: 'orders' }), 'REPLICATOR_SLAVES.eu: must be an object'],
    ['a missing region', slaves({ eu: { table_name: 'orders' } }), 'REPLICATOR_SLAVES.eu.region: is missing'],
    ['a missing table name', slaves({ eu: { region: 'eu-west-1' } }), 'REPLICATOR_SLAVES.eu.table_name: is missing'],
    ['a bad region', slaves({ eu: { region: 'eu-west1', table_name: 'orders' } }), 'REPLICATOR_SLAVES.eu.region: "eu-west1" is not an AWS region: write one like "eu-west-1"'],
    ['a bad table name', slaves({ eu: { region: 'eu-west-1', table_name: 'a b' } }), 'REPLICATOR_SLAVES.eu.table_name: "a b" is not a DynamoDB table name'],
    ['a misspelt field', slaves({ eu: { region: 'eu-west-1', tabel_name: 'orders' } }), 'REPLICATOR_SLAVES.eu.tabel_name: is not a slave field: the fields are region, table_name, role_arn, external_id, endpoint'],
    ['a number for a string', slaves({ eu: { region: 'eu-west-1', table_name: 42 } }), 'REPLICATOR_SLAVES.eu.table_name: must be a non-empty string, not 42'],
    ['a bad role ARN', slaves({ eu: { region: 'eu-west-1', table_name: 'orders', role_arn: 'replica-writer' } }), 'REPLICATOR_SLAVES.eu.role_arn: "replica-writer" is not an IAM role ARN'],
    ['an external id without a role', slaves({ eu: { region: 'eu-west-1', table_name: 'orders', external_id: 'abc' } }), 'REPLICATOR_SLAVES.eu.external_id: is only used when assuming a role: set role_arn too'],
    ['a bad endpoint', slaves({ eu: { region: 'eu-west-1', table_name: 'orders', endpoint: 'localhost:8000' } }), 'REPLICATOR_SLAVES.eu.endpoint: "localhost:8000" is not an http(s) URL'],
    ['a bad slave name', slaves({ 'e u': { region: 'eu-west-1', table_name: 'orders' } }), 'REPLICATOR_SLAVES.e u: a slave name may hold only'],
    [
      'two slaves on one table',
      slaves({ a: { region: 'eu-west-1', table_name: 'orders' }, b: { region: 'eu-west-1', table_name: 'orders' } }),
      'REPLICATOR_SLAVES.b: writes the same table as slave "a" (orders in eu-west-1): remove one of them',
    ],
  ])('rejects %s, naming the field and what to write', (_case, value, message) => {
    // Act
    const load = (): unknown => loadConfig({ REPLICATOR_SLAVES: value });

    // Assess
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(message);
  });

  it('allows one table name in two accounts', () => {
    // Act
    const found = parseSlaves(
      slaves({
        here: { region: 'eu-west-1', table_name: 'orders' },
        there: { region: 'eu-west-1', table_name: 'orders', role_arn: 'arn:aws:iam::210987654321:role/w' },
      }),
    );

    // Assess
    expect(found.map((slave) => slave.name)).toEqual(['here', 'there']);
  });

  it.each([
    ['REPLICATOR_SKIP_TTL_DELETES', 'yes', 'must be "true" or "false", not "yes"'],
    ['REPLICATOR_WRITE_CONCURRENCY', '0', 'must be a whole number from 1 to 64, not "0"'],
    ['REPLICATOR_WRITE_CONCURRENCY', '2.5', 'must be a whole number from 1 to 64'],
    ['REPLICATOR_DEADLINE_MARGIN_MS', '-1', 'must be a whole number from 0 to 60000'],
    ['REPLICATOR_METRICS_NAMESPACE', 'has spaces', '"has spaces" is not a CloudWatch namespace'],
  ])('rejects %s=%s', (name, value, message) => {
    // Act
    const load = (): unknown => loadConfig({ REPLICATOR_SLAVES: slaves({ eu: { region: 'eu-west-1', table_name: 'orders' } }), [name]: value });

    // Assess
    expect(load).toThrow(`${name}: ${message}`);
  });
});
