import { ConfigurationError } from './errors';
import type { ReplicatorConfig, SlaveConfig } from './types';

const EXAMPLE = '{"eu":{"region":"eu-west-1","table_name":"orders-replica"}}';
const SLAVE_FIELDS = ['region', 'table_name', 'role_arn', 'external_id', 'endpoint', 'initial_copy', 'enabled'] as const;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const SLAVE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** Defaults of the settings that have one. */
export const DEFAULTS = {
  writeConcurrency: 16,
  deadlineMarginMs: 2_000,
  metricsNamespace: 'DynamoReplicator',
  replicatorName: 'dynamo-replicator',
  slaveBudgetMs: 5_000,
} as const;

/**
 * Reads the replicator's settings from the environment and checks every field.
 *
 * @throws ConfigurationError naming the variable or slave field, and saying what to write.
 */
export function loadConfig(env: NodeJS.ProcessEnv): ReplicatorConfig {
  const stateTable = env.REPLICATOR_STATE_TABLE;
  if (stateTable === undefined || stateTable === '') {
    throw new ConfigurationError('REPLICATOR_STATE_TABLE', 'is not set: name the state table where a slave that cannot take its writes has them parked (the module creates it as "<name>-state")');
  }
  if (!TABLE_NAME.test(stateTable)) {
    throw new ConfigurationError('REPLICATOR_STATE_TABLE', `"${stateTable}" is not a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."`);
  }
  const masterTable = env.REPLICATOR_MASTER_TABLE;
  if (masterTable !== undefined && masterTable !== '' && !TABLE_NAME.test(masterTable)) {
    throw new ConfigurationError('REPLICATOR_MASTER_TABLE', `"${masterTable}" is not a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."`);
  }
  const masterRegion = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  return {
    slaves: parseSlaves(env.REPLICATOR_SLAVES),
    skipTtlDeletes: parseBoolean('REPLICATOR_SKIP_TTL_DELETES', env.REPLICATOR_SKIP_TTL_DELETES, false),
    writeConcurrency: parseInteger('REPLICATOR_WRITE_CONCURRENCY', env.REPLICATOR_WRITE_CONCURRENCY, DEFAULTS.writeConcurrency, 1, 64),
    deadlineMarginMs: parseInteger('REPLICATOR_DEADLINE_MARGIN_MS', env.REPLICATOR_DEADLINE_MARGIN_MS, DEFAULTS.deadlineMarginMs, 0, 60_000),
    metricsNamespace: parseNamespace(env.REPLICATOR_METRICS_NAMESPACE),
    replicatorName: parseReplicatorName(env.REPLICATOR_NAME ?? env.AWS_LAMBDA_FUNCTION_NAME),
    stateTable,
    ...(masterTable === undefined || masterTable === '' ? {} : { masterTable }),
    ...(masterRegion === undefined || masterRegion === '' ? {} : { masterRegion }),
    slaveBudgetMs: parseInteger('REPLICATOR_SLAVE_BUDGET_MS', env.REPLICATOR_SLAVE_BUDGET_MS, DEFAULTS.slaveBudgetMs, 100, 600_000),
  };
}

/** The settings of a replicator without a state table (library use): a change a slave did not take is re-delivered. */
export function libraryConfig(slaves: readonly SlaveConfig[]): ReplicatorConfig {
  return {
    slaves,
    skipTtlDeletes: false,
    writeConcurrency: DEFAULTS.writeConcurrency,
    deadlineMarginMs: DEFAULTS.deadlineMarginMs,
    metricsNamespace: DEFAULTS.metricsNamespace,
    replicatorName: DEFAULTS.replicatorName,
    slaveBudgetMs: DEFAULTS.slaveBudgetMs,
  };
}

/**
 * Parses the `REPLICATOR_SLAVES` JSON: `{ "<name>": { region, table_name, role_arn?, external_id?, endpoint?, initial_copy?, enabled? } }`.
 * A field set to `null` (as Terraform's `jsonencode` writes an unset optional) counts as absent.
 */
export function parseSlaves(json: string | undefined, field = 'REPLICATOR_SLAVES'): SlaveConfig[] {
  if (json === undefined || json.trim() === '') {
    throw new ConfigurationError(field, `is not set: set it to a JSON object of slave tables, e.g. ${EXAMPLE}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new ConfigurationError(field, `is not valid JSON (${(error as Error).message}): write an object like ${EXAMPLE}`);
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigurationError(field, `must be a JSON object keyed by slave name, e.g. ${EXAMPLE}`);
  }
  const entries = Object.entries(parsed);
  if (entries.length === 0) {
    throw new ConfigurationError(field, `names no slave: add at least one, e.g. ${EXAMPLE}`);
  }
  const slaves = entries.map(([name, value]) => parseSlave(field, name, value));
  rejectDuplicateTargets(field, slaves);
  return slaves;
}

function parseSlave(field: string, name: string, value: unknown): SlaveConfig {
  const at = `${field}.${name}`;
  if (!SLAVE_NAME.test(name)) {
    throw new ConfigurationError(at, 'a slave name may hold only letters, digits, "_", "-" and "." (1 to 64 characters)');
  }
  if (!isPlainObject(value)) {
    throw new ConfigurationError(at, `must be an object like {"region":"eu-west-1","table_name":"orders-replica"}`);
  }
  for (const key of Object.keys(value)) {
    if (!(SLAVE_FIELDS as readonly string[]).includes(key)) {
      throw new ConfigurationError(`${at}.${key}`, `is not a slave field: the fields are ${SLAVE_FIELDS.join(', ')}`);
    }
  }
  const region = requiredString(at, value, 'region');
  if (!REGION.test(region)) {
    throw new ConfigurationError(`${at}.region`, `"${region}" is not an AWS region: write one like "eu-west-1"`);
  }
  const tableName = requiredString(at, value, 'table_name');
  if (!TABLE_NAME.test(tableName)) {
    throw new ConfigurationError(`${at}.table_name`, `"${tableName}" is not a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."`);
  }
  const roleArn = optionalString(at, value, 'role_arn');
  if (roleArn !== undefined && !ROLE_ARN.test(roleArn)) {
    throw new ConfigurationError(`${at}.role_arn`, `"${roleArn}" is not an IAM role ARN: write one like "arn:aws:iam::123456789012:role/replica-writer"`);
  }
  const externalId = optionalString(at, value, 'external_id');
  if (externalId !== undefined) {
    if (roleArn === undefined) {
      throw new ConfigurationError(`${at}.external_id`, 'is only used when assuming a role: set role_arn too, or remove external_id');
    }
    if (!EXTERNAL_ID.test(externalId)) {
      throw new ConfigurationError(`${at}.external_id`, 'must be 2 to 1224 characters of letters, digits and +=,.@:/-');
    }
  }
  const endpoint = optionalString(at, value, 'endpoint');
  if (endpoint !== undefined && !isHttpUrl(endpoint)) {
    throw new ConfigurationError(`${at}.endpoint`, `"${endpoint}" is not an http(s) URL: write one like "http://127.0.0.1:8000"`);
  }
  const initialCopy = optionalBoolean(at, value, 'initial_copy');
  const enabled = optionalBoolean(at, value, 'enabled');
  return {
    name,
    region,
    tableName,
    ...(roleArn === undefined ? {} : { roleArn }),
    ...(externalId === undefined ? {} : { externalId }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(initialCopy === true ? { initialCopy } : {}),
    ...(enabled === false ? { enabled } : {}),
  };
}

/** A field that is true, false, or left out (null is left out: Terraform's jsonencode writes an unset optional so). */
function optionalBoolean(at: string, value: Record<string, unknown>, field: string): boolean | undefined {
  const flag = value[field];
  if (flag === undefined || flag === null) return undefined;
  if (typeof flag !== 'boolean') throw new ConfigurationError(`${at}.${field}`, `must be true or false, not ${JSON.stringify(flag)}`);
  return flag;
}

/** Where a table is, as far as telling the master from a slave goes. */
export interface TableLocation {
  readonly tableName: string;
  readonly region: string;
  /** The endpoint it is reached at; undefined for the SDK's default (AWS_ENDPOINT_URL_DYNAMODB or AWS). */
  readonly endpoint?: string;
}

/**
 * The one rule that tells a slave that is the master itself: the same table name in the same region, reached at the
 * same endpoint, in the same account (no role to assume). Replicating a table into itself would loop forever.
 *
 * @throws ConfigurationError naming the slave.
 */
export function rejectMasterAsSlave(slaves: readonly SlaveConfig[], master: TableLocation, field: (slave: SlaveConfig) => string): void {
  const defaultEndpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL ?? '';
  const masterEndpoint = master.endpoint ?? defaultEndpoint;
  for (const slave of slaves) {
    if (slave.roleArn === undefined && slave.region === master.region && slave.tableName === master.tableName && (slave.endpoint ?? defaultEndpoint) === masterEndpoint) {
      throw new ConfigurationError(
        field(slave),
        `is the master table itself (${master.tableName} in ${master.region}): replicating a table into itself would loop forever; point the slave at another table, region or account`,
      );
    }
  }
}

function rejectDuplicateTargets(field: string, slaves: readonly SlaveConfig[]): void {
  const seen = new Map<string, string>();
  for (const slave of slaves) {
    const target = [slave.region, slave.tableName, slave.endpoint ?? '', accountOf(slave.roleArn)].join('|');
    const other = seen.get(target);
    if (other !== undefined) {
      throw new ConfigurationError(
        `${field}.${slave.name}`,
        `writes the same table as slave "${other}" (${slave.tableName} in ${slave.region}): remove one of them`,
      );
    }
    seen.set(target, slave.name);
  }
}

function accountOf(roleArn: string | undefined): string {
  return roleArn === undefined ? '' : (roleArn.split(':')[4] ?? '');
}

function requiredString(at: string, value: Record<string, unknown>, key: string): string {
  const found = optionalString(at, value, key);
  if (found === undefined) {
    throw new ConfigurationError(`${at}.${key}`, 'is missing: every slave needs region and table_name');
  }
  return found;
}

function optionalString(at: string, value: Record<string, unknown>, key: string): string | undefined {
  const found = value[key];
  if (found === undefined || found === null) return undefined;
  if (typeof found !== 'string' || found === '') {
    throw new ConfigurationError(`${at}.${key}`, `must be a non-empty string, not ${JSON.stringify(found)}`);
  }
  return found;
}

function parseBoolean(field: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigurationError(field, `must be "true" or "false", not "${raw}"`);
}

function parseInteger(field: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigurationError(field, `must be a whole number from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

function parseNamespace(raw: string | undefined): string {
  if (raw === undefined || raw === '') return DEFAULTS.metricsNamespace;
  if (!/^[\w./#:-]{1,255}$/.test(raw)) {
    throw new ConfigurationError('REPLICATOR_METRICS_NAMESPACE', `"${raw}" is not a CloudWatch namespace: letters, digits and . - _ / # : (1 to 255 characters)`);
  }
  return raw;
}

function parseReplicatorName(raw: string | undefined): string {
  if (raw === undefined || raw === '') return DEFAULTS.replicatorName;
  if (!/^[\w.-]{1,64}$/.test(raw)) {
    throw new ConfigurationError('REPLICATOR_NAME', `"${raw}" must be 1 to 64 letters, digits, "_", "-" or "." (the module sets it to its name input)`);
  }
  return raw;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
