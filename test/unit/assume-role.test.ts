import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { assumeRoleCredentials, sessionNameFor } from '../../handler/assume-role';
import { AssumeRoleError } from '../../handler/errors';
import { Deadline, REQUEST_TIMEOUT_MS } from '../../handler/timing';
import { silentServer } from './helpers/silent-server';
import { awsError } from './helpers/writes';

const sts = new STSClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const stsMock = mockClient(sts);
const ROLE = 'arn:aws:iam::210987654321:role/replica-writer';

const issued = (n: number, expiresAt: number) => ({
  Credentials: { AccessKeyId: `AKIA${n}`, SecretAccessKey: `secret${n}`, SessionToken: `token${n}`, Expiration: new Date(expiresAt) },
});

describe('Function: assumeRoleCredentials', () => {
  afterEach(() => stsMock.reset());

  it('assumes the role with the external id and session name, once for many callers', async () => {
    // Prepare
    let now = 1_000_000;
    stsMock.on(AssumeRoleCommand).resolves(issued(1, now + 3_600_000));
    const provider = assumeRoleCredentials({ roleArn: ROLE, externalId: 'shared', region: 'us-east-1', sessionName: 'dynamo-replicator-us', sts, now: () => now });

    // Act
    const [first, second] = await Promise.all([provider(), provider()]);
    now += 30 * 60_000;
    const later = await provider();

    // Assess
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, { RoleArn: ROLE, ExternalId: 'shared', RoleSessionName: 'dynamo-replicator-us' });
    expect(first).toEqual({ accessKeyId: 'AKIA1', secretAccessKey: 'secret1', sessionToken: 'token1', expiration: new Date(1_000_000 + 3_600_000) });
    expect(second).toBe(first);
    expect(later).toBe(first);
  });

  it('assumes the role again shortly before the credentials expire', async () => {
    // Prepare
    let now = 1_000_000;
    stsMock.on(AssumeRoleCommand).resolvesOnce(issued(1, now + 3_600_000)).resolves(issued(2, now + 7_200_000));
    const provider = assumeRoleCredentials({ roleArn: ROLE, region: 'us-east-1', sessionName: 's', sts, now: () => now });

    // Act
    await provider();
    now += 3_600_000 - 4 * 60_000;
    const renewed = await provider();

    // Assess
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(renewed.accessKeyId).toBe('AKIA2');
    expect(stsMock.commandCalls(AssumeRoleCommand)[1]?.args[0].input.ExternalId).toBeUndefined();
  });

  it('says which role could not be assumed and what to check, and tries again on the next call', async () => {
    // Prepare
    stsMock.on(AssumeRoleCommand).rejectsOnce(awsError('AccessDenied', 403, 'not authorized to perform: sts:AssumeRole')).resolves(issued(3, Date.now() + 3_600_000));
    const provider = assumeRoleCredentials({ roleArn: ROLE, externalId: 'x1', region: 'us-east-1', sessionName: 's', sts });

    // Act & Assess
    await expect(provider()).rejects.toThrow(
      `could not assume role ${ROLE}: AccessDenied: not authorized to perform: sts:AssumeRole; check the role's trust policy names this function's role and the external id`,
    );
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'AKIA3' });
  });

  it('rejects an answer without credentials', async () => {
    // Prepare
    stsMock.on(AssumeRoleCommand).resolves({});

    // Act & Assess
    await expect(assumeRoleCredentials({ roleArn: ROLE, region: 'us-east-1', sessionName: 's', sts })()).rejects.toThrow('STS returned no credentials');
  });

  describe('with its own STS client', () => {
    const savedEnv = { ...process.env };

    afterEach(() => {
      process.env = { ...savedEnv };
    });

    // Waits one REQUEST_TIMEOUT_MS (5 s) for real: only a socket that stays silent that long shows the timeout works.
    it('fails an AssumeRole that gets no answer after REQUEST_TIMEOUT_MS, in one attempt, long before a far deadline', async () => {
      // Prepare
      const silent = await silentServer();
      process.env.AWS_ENDPOINT_URL_STS = silent.endpoint;
      process.env.AWS_ACCESS_KEY_ID = 'AKIAFUNCTION';
      process.env.AWS_SECRET_ACCESS_KEY = 'secret';
      delete process.env.AWS_SESSION_TOKEN;
      const provider = assumeRoleCredentials({ roleArn: ROLE, region: 'us-east-1', sessionName: 's' });
      const deadline = new Deadline(Date.now() + 4 * REQUEST_TIMEOUT_MS);
      const started = Date.now();

      // Act
      const error = await deadline
        .race(provider())
        .then(
          () => undefined,
          (failure: unknown) => failure,
        )
        .finally(() => {
          deadline.release();
          return silent.close();
        });
      const elapsed = Date.now() - started;

      // Assess
      expect(error).toBeInstanceOf(AssumeRoleError);
      expect((error as Error).cause).toMatchObject({ name: 'TimeoutError' });
      expect(deadline.cutOff.aborted).toBe(false);
      expect(elapsed).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
      expect(elapsed).toBeLessThan(3 * REQUEST_TIMEOUT_MS);
      // The SDK's own retries would only repeat the timeout: the caller's retry policy decides whether to try again.
      expect(silent.connections()).toBe(1);
    }, 6 * REQUEST_TIMEOUT_MS);
  });
});

describe('Function: sessionNameFor', () => {
  it('makes a valid session name of any slave name', () => {
    expect(sessionNameFor('eu')).toBe('dynamo-replicator-eu');
    expect(sessionNameFor('a'.repeat(80))).toHaveLength(64);
  });
});
