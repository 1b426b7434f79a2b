/** Base class of every error the replicator raises on purpose. */
export class ReplicatorError extends Error {
  public override readonly name: string = 'ReplicatorError';
}

/** `REPLICATOR_SLAVES` or another setting is missing or wrong; `field` names it. */
export class ConfigurationError extends ReplicatorError {
  public override readonly name = 'ConfigurationError';
  public constructor(
    public readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The invocation payload is not a DynamoDB stream batch. */
export class InvalidEventError extends ReplicatorError {
  public override readonly name = 'InvalidEventError';
}

/** One stream record cannot be replicated as it is; it names the record. */
export class InvalidStreamRecordError extends ReplicatorError {
  public override readonly name = 'InvalidStreamRecordError';
  public constructor(
    public readonly eventId: string,
    public readonly sequenceNumber: string | undefined,
    reason: string,
  ) {
    super(`stream record ${eventId}${sequenceNumber === undefined ? '' : ` (sequence number ${sequenceNumber})`}: ${reason}`);
  }
}

/** A write to a slave failed; the message names the slave, table, key and AWS error. */
export class SlaveWriteError extends ReplicatorError {
  public override readonly name = 'SlaveWriteError';
  public constructor(
    message: string,
    /** False when retrying cannot help (validation, access, missing table). */
    public readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A call was still failing, or had not been made, when its deadline came; `cause` is the last error. */
export class OutOfTimeError extends ReplicatorError {
  public override readonly name = 'OutOfTimeError';
  public constructor(what: string, lastError: unknown) {
    super(`${what}: not done before the deadline${lastError === undefined ? '' : ` (last error: ${describeError(lastError)})`}`, { cause: lastError });
  }
}

/** The state table could not be read or written; the changes that depended on it are left for re-delivery. */
export class StateTableError extends ReplicatorError {
  public override readonly name = 'StateTableError';
}

/** A slave's role could not be assumed; `cause` is the STS error, which decides whether it is worth retrying. */
export class AssumeRoleError extends ReplicatorError {
  public override readonly name = 'AssumeRoleError';
}

/** A read of the master's current item failed (KEYS_ONLY and OLD_IMAGE streams). */
export class MasterReadError extends ReplicatorError {
  public override readonly name = 'MasterReadError';
}

/** Thrown by the legacy `process(event)` API when some change did not reach every slave. */
export class ReplicationIncompleteError extends ReplicatorError {
  public override readonly name = 'ReplicationIncompleteError';
  public constructor(
    message: string,
    /** The lowest sequence number not applied to every slave. */
    public readonly failedSequenceNumber: string,
    public readonly errors: readonly Error[],
  ) {
    super(message);
  }
}

/** An error as one line for a message: `ThrottlingException: Rate exceeded`. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
