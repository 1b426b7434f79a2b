/**
 * A local stand-in for the two Lambda API calls a function makes to stop its own event
 * source mapping: ListEventSourceMappings (to find the mapping's UUID from its function
 * name and stream ARN) and UpdateEventSourceMapping with `{"Enabled": false}` (or `true`).
 * They are served over HTTP on loopback in the REST-JSON shapes `@aws-sdk/client-lambda`
 * reads (`GET /2015-03-31/event-source-mappings/?FunctionName=&EventSourceArn=&Marker=&MaxItems=`,
 * `PUT /2015-03-31/event-source-mappings/{UUID}` answering 202), so the handler under test
 * reaches it with `AWS_ENDPOINT_URL_LAMBDA=<endpoint>` exactly as it reaches Lambda.
 * Request signatures are not checked.
 *
 * A mapping's state moves as Lambda's does: an update to `Enabled: false` answers
 * "Disabling" and the mapping stays there until its consumer (the {@link StreamPoller} it
 * is attached to) has no invocation in flight and reports so with `settle`; only then is it
 * "Disabled". Re-enabling goes through "Enabling" the same way. While a mapping is in one
 * of those two transitional states a further update is refused with 400
 * ResourceInUseException, as Lambda refuses updates to a mapping that is changing state
 * (from Lambda's documented errors; the exact message is not confirmed). Settings other
 * than `Enabled` cannot be updated here: the poller reads them once, so accepting them
 * would report a change that never happens.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The states an event source mapping goes through here (Lambda also has Creating, Updating and Deleting). */
export const EventSourceMappingState = {
  ENABLED: 'Enabled',
  DISABLING: 'Disabling',
  DISABLED: 'Disabled',
  ENABLING: 'Enabling',
} as const;
/** One of {@link EventSourceMappingState}. */
export type EventSourceMappingState = (typeof EventSourceMappingState)[keyof typeof EventSourceMappingState];

/** What a consumer tells the control plane about the mapping it runs. */
export interface EventSourceMappingSettings {
  readonly functionName: string;
  /** Region in the function's and the mapping's ARNs. */
  readonly region: string;
  /** The stream ARN. */
  readonly eventSourceArn: string;
  readonly startingPosition: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowInSeconds: number;
  readonly parallelizationFactor: number;
  readonly maximumRetryAttempts: number;
  readonly maximumRecordAgeInSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
}

/** An EventSourceMappingConfiguration, with the members the Lambda API returns for a DynamoDB stream mapping. */
export interface EventSourceMappingConfiguration {
  readonly UUID: string;
  readonly EventSourceMappingArn: string;
  readonly EventSourceArn: string;
  readonly FunctionArn: string;
  readonly StartingPosition: string;
  readonly BatchSize: number;
  readonly MaximumBatchingWindowInSeconds: number;
  readonly ParallelizationFactor: number;
  readonly MaximumRetryAttempts: number;
  readonly MaximumRecordAgeInSeconds: number;
  readonly BisectBatchOnFunctionError: boolean;
  readonly FunctionResponseTypes: readonly string[];
  readonly State: EventSourceMappingState;
  readonly StateTransitionReason: string;
  /** Epoch seconds, as REST-JSON sends timestamps. */
  readonly LastModified: number;
  readonly LastProcessingResult: string;
}

/** Counters, read with {@link LambdaControlPlane.stats}. */
export interface LambdaControlPlaneStats {
  listCalls: number;
  updateCalls: number;
  /** Requests answered with an error. */
  rejected: number;
}

/** Raised by {@link LambdaControlPlane.setEnabled} for what the API would refuse; `name` is the API's error code. */
export class LambdaControlPlaneError extends Error {
  constructor(
    override readonly name: 'ResourceNotFoundException' | 'ResourceInUseException' | 'InvalidParameterValueException',
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/** A running control plane. */
export interface LambdaControlPlane {
  /** `http://127.0.0.1:<port>`: the handler's `AWS_ENDPOINT_URL_LAMBDA`. */
  readonly endpoint: string;
  readonly port: number;
  /** A snapshot of the counters. */
  readonly stats: Readonly<LambdaControlPlaneStats>;
  /** Registers an enabled mapping (Lambda's CreateEventSourceMapping, without the HTTP side). */
  createEventSourceMapping(settings: EventSourceMappingSettings): EventSourceMappingConfiguration;
  getEventSourceMapping(uuid: string): EventSourceMappingConfiguration | undefined;
  /** UpdateEventSourceMapping `{ Enabled }`, as an operator would call it; throws {@link LambdaControlPlaneError}. */
  setEnabled(uuid: string, enabled: boolean): EventSourceMappingConfiguration;
  /** The state the mapping has been asked to be in: false from the moment a disable is accepted. */
  isEnabled(uuid: string): boolean;
  /** Called by the consumer once it runs as asked: Disabling becomes Disabled, Enabling becomes Enabled. */
  settle(uuid: string): void;
  /** Calls `listener` after every accepted update to the mapping; returns the unsubscribe function. */
  onChange(uuid: string, listener: () => void): () => void;
  /** Closes the server. */
  stop(): Promise<void>;
}

interface Mapping {
  readonly settings: EventSourceMappingSettings;
  readonly uuid: string;
  state: EventSourceMappingState;
  lastModified: number;
  readonly listeners: Set<() => void>;
}

const API_PREFIX = '/2015-03-31/event-source-mappings';
/** ListEventSourceMappings answers at most 100 per page (MaxItems 1-10,000, capped at 100 by the service). */
const MAX_PAGE = 100;

function functionArn(settings: EventSourceMappingSettings): string {
  return `arn:aws:lambda:${settings.region}:000000000000:function:${settings.functionName}`;
}

/** FunctionName may be a name, a full or partial ARN, with or without a qualifier. */
function functionNameOf(value: string): string {
  const marker = 'function:';
  const at = value.lastIndexOf(marker);
  const rest = at < 0 ? value : value.slice(at + marker.length);
  return rest.split(':')[0] ?? rest;
}

function configuration(mapping: Mapping): EventSourceMappingConfiguration {
  const { settings } = mapping;
  return {
    UUID: mapping.uuid,
    EventSourceMappingArn: `arn:aws:lambda:${settings.region}:000000000000:event-source-mapping:${mapping.uuid}`,
    EventSourceArn: settings.eventSourceArn,
    FunctionArn: functionArn(settings),
    StartingPosition: settings.startingPosition,
    BatchSize: settings.batchSize,
    MaximumBatchingWindowInSeconds: settings.maximumBatchingWindowInSeconds,
    ParallelizationFactor: settings.parallelizationFactor,
    MaximumRetryAttempts: settings.maximumRetryAttempts,
    MaximumRecordAgeInSeconds: settings.maximumRecordAgeInSeconds,
    BisectBatchOnFunctionError: settings.bisectBatchOnFunctionError,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    State: mapping.state,
    StateTransitionReason: 'USER_INITIATED',
    LastModified: mapping.lastModified,
    LastProcessingResult: 'OK',
  };
}

function readBody(stream: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => done(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', fail);
  });
}

/** Starts a control plane on 127.0.0.1 (a free port) with no mappings. */
export async function startLambdaControlPlane(): Promise<LambdaControlPlane> {
  const mappings = new Map<string, Mapping>();
  const stats: LambdaControlPlaneStats = { listCalls: 0, updateCalls: 0, rejected: 0 };

  function mappingOrThrow(uuid: string): Mapping {
    const mapping = mappings.get(uuid);
    if (!mapping) throw new LambdaControlPlaneError('ResourceNotFoundException', 'The resource you requested does not exist.', 404);
    return mapping;
  }

  function setEnabled(uuid: string, enabled: boolean): EventSourceMappingConfiguration {
    const mapping = mappingOrThrow(uuid);
    if (mapping.state === EventSourceMappingState.DISABLING || mapping.state === EventSourceMappingState.ENABLING) {
      throw new LambdaControlPlaneError(
        'ResourceInUseException',
        `Cannot update the event source mapping '${uuid}' because it is in use (state ${mapping.state}).`,
        400,
      );
    }
    const isEnabled = mapping.state === EventSourceMappingState.ENABLED;
    if (enabled !== isEnabled) {
      mapping.state = enabled ? EventSourceMappingState.ENABLING : EventSourceMappingState.DISABLING;
      mapping.lastModified = Math.floor(Date.now() / 1000);
      for (const listener of mapping.listeners) listener();
    }
    return configuration(mapping);
  }

  function list(query: URLSearchParams): { EventSourceMappings: EventSourceMappingConfiguration[]; NextMarker?: string } {
    const functionName = query.get('FunctionName');
    const eventSourceArn = query.get('EventSourceArn');
    const maxItemsParam = query.get('MaxItems');
    const maxItems = maxItemsParam === null ? MAX_PAGE : Number(maxItemsParam);
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 10_000) {
      throw new LambdaControlPlaneError('InvalidParameterValueException', `MaxItems must be in 1-10,000, got ${maxItemsParam ?? ''}`, 400);
    }
    const matching = [...mappings.values()].filter(
      (mapping) =>
        (functionName === null || functionNameOf(functionName) === mapping.settings.functionName) &&
        (eventSourceArn === null || eventSourceArn === mapping.settings.eventSourceArn),
    );
    const from = Number(query.get('Marker') ?? '0');
    const page = matching.slice(from, from + Math.min(maxItems, MAX_PAGE));
    const next = from + page.length;
    return { EventSourceMappings: page.map(configuration), ...(next < matching.length ? { NextMarker: String(next) } : {}) };
  }

  function update(uuid: string, body: string): EventSourceMappingConfiguration {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body === '' ? '{}' : body);
    } catch {
      throw new LambdaControlPlaneError('InvalidParameterValueException', 'The request body is not JSON.', 400);
    }
    if (typeof parsed !== 'object' || parsed === null) {
      throw new LambdaControlPlaneError('InvalidParameterValueException', 'The request body is not a JSON object.', 400);
    }
    const unsupported = Object.keys(parsed).filter((name) => name !== 'Enabled' && name !== 'FunctionName');
    if (unsupported.length > 0) {
      throw new LambdaControlPlaneError(
        'InvalidParameterValueException',
        `This local control plane updates Enabled only; got ${unsupported.join(', ')}.`,
        400,
      );
    }
    const enabled = 'Enabled' in parsed ? parsed.Enabled : undefined;
    if (enabled === undefined) return configuration(mappingOrThrow(uuid));
    if (typeof enabled !== 'boolean') throw new LambdaControlPlaneError('InvalidParameterValueException', 'Enabled must be a boolean.', 400);
    return setEnabled(uuid, enabled);
  }

  function send(res: ServerResponse, status: number, value: unknown, errorType?: string): void {
    const body = JSON.stringify(value);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'x-amzn-requestid': randomUUID(),
      ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
    });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '');
    if (req.method === 'GET' && path === API_PREFIX) {
      stats.listCalls += 1;
      send(res, 200, list(url.searchParams));
      return;
    }
    if (req.method === 'PUT' && path.startsWith(`${API_PREFIX}/`)) {
      stats.updateCalls += 1;
      send(res, 202, update(decodeURIComponent(path.slice(API_PREFIX.length + 1)), body));
      return;
    }
    throw new LambdaControlPlaneError('ResourceNotFoundException', `${req.method ?? ''} ${url.pathname} is not served here.`, 404);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      stats.rejected += 1;
      if (error instanceof LambdaControlPlaneError) {
        // Lambda names the error in x-amzn-ErrorType and the body; InvalidParameterValueException spells its message in lower case.
        const message = error.name === 'InvalidParameterValueException' ? { message: error.message } : { Message: error.message };
        send(res, error.statusCode, { Type: 'User', ...message }, error.name);
      } else {
        send(res, 500, { Type: 'Service', Message: String(error) }, 'ServiceException');
      }
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    get stats() {
      return { ...stats };
    },
    createEventSourceMapping(settings) {
      const mapping: Mapping = {
        settings,
        uuid: randomUUID(),
        state: EventSourceMappingState.ENABLED,
        lastModified: Math.floor(Date.now() / 1000),
        listeners: new Set(),
      };
      mappings.set(mapping.uuid, mapping);
      return configuration(mapping);
    },
    getEventSourceMapping(uuid) {
      const mapping = mappings.get(uuid);
      return mapping ? configuration(mapping) : undefined;
    },
    setEnabled,
    isEnabled(uuid) {
      const { state } = mappingOrThrow(uuid);
      return state === EventSourceMappingState.ENABLED || state === EventSourceMappingState.ENABLING;
    },
    settle(uuid) {
      const mapping = mappingOrThrow(uuid);
      if (mapping.state === EventSourceMappingState.DISABLING) mapping.state = EventSourceMappingState.DISABLED;
      if (mapping.state === EventSourceMappingState.ENABLING) mapping.state = EventSourceMappingState.ENABLED;
    },
    onChange(uuid, listener) {
      const { listeners } = mappingOrThrow(uuid);
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      return new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}
