import { ReplicatorError } from '../errors';

/** A Scan of a table failed after its retries; the message names the table and segment. */
export class ScanError extends ReplicatorError {
  public override readonly name = 'ScanError';
}

/** The master table cannot be used as asked (missing, no stream, on-demand with `--capacity-share`). */
export class MasterTableError extends ReplicatorError {
  public override readonly name = 'MasterTableError';
}
