import { describe, expect, it } from 'vitest';
import { DEFAULTS, libraryConfig, loadConfig, parseSlaves } from '../../handler/config';
import { ConfigurationError } from '../../handler/errors';

const slaves = (value: unknown): string => JSON.stringify(value);
const ONE_SLAVE = slaves({ eu: { region: 'eu-west-1', table_name: 'orders' } });

/** The environment the module writes, but for the variables a test sets. */
const envWith = (env: Record<string, string | undefined>): NodeJS.ProcessEnv => ({ REPLICATOR_STATE_TABLE: 'orders-replicator-state', REPLICATOR_SLAVES: ONE_SLAVE, ...env });

describe('Function: loadConfig', () => {
  it('reads every slave field and the defaults', () => {
    // Prepare
    const env = {
      REPLICATOR_STATE_TABLE: 'orders-replicator-state',
      REPLICATOR_SLAVES: slaves({
        eu: { region: 'eu-west-1', table_name: 'orders-eu' },
        partner: {
          region: 'us-east-1',
          table_name: 'orders',
          role_arn: 'arn:aws:iam::210987654321:role/replica-writer',
          external_id: 'shared-secret',
          endpoint: 'https://dynamodb.us-east-1.amazonaws.com',
        },
        fresh: { region: 'ap-southeast-2', table_name: 'orders-ap', initial_copy: true, enabled: true },
        paused: { region: 'eu-west-2', table_name: 'orders-uk', enabled: false },
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
        { name: 'fresh', region: 'ap-southeast-2', tableName: 'orders-ap', initialCopy: true },
        { name: 'paused', region: 'eu-west-2', tableName: 'orders-uk', enabled: false },
      ],
      skipTtlDeletes: false,
      writeConcurrency: 16,
      deadlineMarginMs: 2000,
      metricsNamespace: 'DynamoReplicator',
      replicatorName: 'dynamo-replicator',
      stateTable: 'orders-replicator-state',
      slaveBudgetMs: 5000,
    });
  });

  it('treats null optional fields as absent, as jsonencode writes them', () => {
    // Act
    const [slave] = parseSlaves(slaves({ eu: { region: 'eu-west-1', table_name: 'orders-eu', role_arn: null, external_id: null, endpoint: null, initial_copy: null, enabled: null } }));

    // Assess
    expect(slave).toEqual({ name: 'eu', region: 'eu-west-1', tableName: 'orders-eu' });
  });

  it('reads the optional settings', () => {
    // Act
    const config = loadConfig(
      envWith({
        REPLICATOR_SKIP_TTL_DELETES: 'true',
        REPLICATOR_WRITE_CONCURRENCY: '16',
        REPLICATOR_DEADLINE_MARGIN_MS: '500',
        REPLICATOR_METRICS_NAMESPACE: 'Team/Replication',
        REPLICATOR_MASTER_TABLE: 'orders',
        REPLICATOR_NAME: 'orders-replicator',
        REPLICATOR_SLAVE_BUDGET_MS: '2500',
        AWS_REGION: 'eu-west-1',
      }),
    );

    // Assess
    expect(config).toMatchObject({
      skipTtlDeletes: true,
      writeConcurrency: 16,
      deadlineMarginMs: 500,
      metricsNamespace: 'Team/Replication',
      masterTable: 'orders',
      masterRegion: 'eu-west-1',
      replicatorName: 'orders-replicator',
      slaveBudgetMs: 2500,
    });
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
    ['a misspelt field', slaves({ eu: { region: 'eu-west-1', tabel_name: 'orders' } }), 'REPLICATOR_SLAVES.eu.tabel_name: is not a slave field: the fields are region, table_name, role_arn, external_id, endpoint, initial_copy, enabled'],
    ['a string for initial_copy', slaves({ eu: { region: 'eu-west-1', table_name: 'orders', initial_copy: 'yes' } }), 'REPLICATOR_SLAVES.eu.initial_copy: must be true or false, not "yes"'],
    ['a number for enabled', slaves({ eu: { region: 'eu-west-1', table_name: 'orders', enabled: 0 } }), 'REPLICATOR_SLAVES.eu.enabled: must be true or false, not 0'],
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
    const load = (): unknown => loadConfig(envWith({ REPLICATOR_SLAVES: value }));

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
    ['REPLICATOR_STATE_TABLE', '', 'is not set: name the state table where a slave that cannot take its writes has them parked (the module creates it as "<name>-state")'],
    ['REPLICATOR_STATE_TABLE', 'a b', '"a b" is not a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."'],
    ['REPLICATOR_MASTER_TABLE', 'x', '"x" is not a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."'],
    ['REPLICATOR_NAME', 'my replicator', '"my replicator" must be 1 to 64 letters, digits, "_", "-" or "." (the module sets it to its name input)'],
    ['REPLICATOR_SLAVE_BUDGET_MS', '99', 'must be a whole number from 100 to 600000, not "99"'],
    ['REPLICATOR_SLAVE_BUDGET_MS', '5s', 'must be a whole number from 100 to 600000, not "5s"'],
  ])('rejects %s=%j, naming the variable and what to write', (name, value, message) => {
    // Act
    const load = (): unknown => loadConfig(envWith({ [name]: value }));

    // Assess
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(`${name}: ${message}`);
  });

  it('requires REPLICATOR_STATE_TABLE, saying what to set it to', () => {
    // Act
    const load = (): unknown => loadConfig({ REPLICATOR_SLAVES: ONE_SLAVE });

    // Assess
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow('REPLICATOR_STATE_TABLE: is not set: name the state table');
  });

  it('names the replicator after the function when REPLICATOR_NAME is unset, and leaves the master unset when not given', () => {
    // Act
    const named = loadConfig(envWith({ AWS_LAMBDA_FUNCTION_NAME: 'orders-stream' }));
    const unnamed = loadConfig(envWith({}));

    // Assess
    expect(named.replicatorName).toBe('orders-stream');
    expect(unnamed.replicatorName).toBe(DEFAULTS.replicatorName);
    expect(unnamed).not.toHaveProperty('masterTable');
    expect(unnamed).not.toHaveProperty('masterRegion');
  });

  it('reads the master region from AWS_DEFAULT_REGION when AWS_REGION is unset', () => {
    expect(loadConfig(envWith({ AWS_DEFAULT_REGION: 'us-west-2' })).masterRegion).toBe('us-west-2');
  });
});

describe('Function: libraryConfig', () => {
  it('has no state table, so what a slave does not take is re-delivered, and the defaults for the rest', () => {
    // Prepare
    const slave = { name: 'eu', region: 'eu-west-1', tableName: 'orders-eu' };

    // Act
    const config = libraryConfig([slave]);

    // Assess
    expect(config).toEqual({
      slaves: [slave],
      skipTtlDeletes: false,
      writeConcurrency: 16,
      deadlineMarginMs: 2000,
      metricsNamespace: 'DynamoReplicator',
      replicatorName: 'dynamo-replicator',
      slaveBudgetMs: 5000,
    });
    expect(config).not.toHaveProperty('stateTable');
  });
});
