import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AssumeRoleError, describeError } from './errors';
import { boundedRequestHandler } from './request-handler';

/** Temporary credentials as the SDK clients take them. */
export interface TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

export interface AssumeRoleOptions {
  readonly roleArn: string;
  readonly externalId?: string;
  /** STS is called in this region (the slave's), so a regional outage elsewhere does not stop the slave. */
  readonly region: string;
  readonly sessionName: string;
  /** Credentials are renewed when they have less than this left. */
  readonly refreshBeforeMs?: number;
  readonly now?: () => number;
  readonly sts?: STSClient;
}

/** Renew assumed-role credentials this long before they expire, so no call goes out with credentials about to lapse. */
export const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * A credentials provider for a slave in another account: assumes the role once, caches the credentials across
 * invocations, and assumes it again shortly before they expire. Concurrent callers share one STS call.
 */
export function assumeRoleCredentials(options: AssumeRoleOptions): () => Promise<TemporaryCredentials> {
  // Bounded like every other call: a hung AssumeRole fails its one attempt instead of holding the slave's writes, and
  // the caller's retry policy (retry.ts), which classifies the error by its cause, decides whether to try again.
  const sts = options.sts ?? new STSClient({ region: options.region, maxAttempts: 1, requestHandler: boundedRequestHandler() });
  const now = options.now ?? Date.now;
  const refreshBeforeMs = options.refreshBeforeMs ?? REFRESH_BEFORE_MS;
  let cached: TemporaryCredentials | undefined;
  let pending: Promise<TemporaryCredentials> | undefined;

  const assume = async (): Promise<TemporaryCredentials> => {
    let response;
    try {
      response = await sts.send(
        new AssumeRoleCommand({
          RoleArn: options.roleArn,
          RoleSessionName: options.sessionName,
          ...(options.externalId === undefined ? {} : { ExternalId: options.externalId }),
        }),
      );
    } catch (error) {
      const reason = describeError(error);
      throw new AssumeRoleError(`could not assume role ${options.roleArn}: ${reason}; check the role's trust policy names this function's role${options.externalId === undefined ? '' : ' and the external id'}`, { cause: error });
    }
    const credentials = response.Credentials;
    if (credentials?.AccessKeyId === undefined || credentials.SecretAccessKey === undefined || credentials.SessionToken === undefined || credentials.Expiration === undefined) {
      throw new AssumeRoleError(`could not assume role ${options.roleArn}: STS returned no credentials`);
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration,
    };
  };

  return async () => {
    if (cached !== undefined && cached.expiration.getTime() - now() > refreshBeforeMs) return cached;
    pending ??= assume()
      .then((fresh) => {
        cached = fresh;
        return fresh;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/** A valid RoleSessionName (2 to 64 characters of `\w+=,.@-`) for a slave. */
export function sessionNameFor(slaveName: string): string {
  return `dynamo-replicator-${slaveName}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}
