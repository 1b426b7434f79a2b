import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assumeRoleCredentials } from '../../handler/assume-role';
import { OutOfTimeError, StateTableError } from '../../handler/errors';
import { backoffDelay, classifyFailure, retryCall, sleep } from '../../handler/retry';
import { Deadline } from '../../handler/timing';
import { awsError, FAST_BACKOFF } from './helpers/writes';

const sts = mockClient(STSClient);

/** The error a slave's credentials provider throws when STS answers `error`. */
async function assumeRoleFailure(error: Error): Promise<unknown> {
  sts.on(AssumeRoleCommand).rejects(error);
  const provider = assumeRoleCredentials({ roleArn: 'arn:aws:iam::210987654321:role/w', region: 'us-east-1', sessionName: 's', sts: new STSClient({ region: 'us-east-1' }) });
  return provider().then(
    () => undefined,
    (failure: unknown) => failure,
  );
}

describe('Function: classifyFailure', () => {
  afterEach(() => {
    sts.reset();
  });

  it.each([
    [awsError('ThrottlingException', 400), 'throttled'],
    [awsError('ProvisionedThroughputExceededException', 400), 'throttled'],
    [awsError('Whatever', 429), 'throttled'],
    [awsError('InternalServerError', 500), 'transient'],
    [awsError('Unknown', 503), 'transient'],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'transient'],
    [Object.assign(new Error('odd'), { $retryable: {} }), 'transient'],
    [awsError('ValidationException', 400), 'fatal'],
    [awsError('AccessDeniedException', 400), 'fatal'],
    ['a string', 'fatal'],
  ])('classifies %s as %s', (error, kind) => {
    expect(classifyFailure(error)).toBe(kind);
  });

  it('classifies an error of ours by the SDK error it wraps', () => {
    // Prepare
    const throttled = new StateTableError('state table t: could not read', { cause: awsError('ThrottlingException', 400) });
    const unavailable = new StateTableError('state table t: could not read', { cause: awsError('ServiceUnavailable', 503) });
    const denied = new StateTableError('state table t: could not read', { cause: awsError('AccessDeniedException', 400) });

    // Act & Assess
    expect(classifyFailure(throttled)).toBe('throttled');
    expect(classifyFailure(unavailable)).toBe('transient');
    expect(classifyFailure(denied)).toBe('fatal');
  });

  it('classifies the error of a failed AssumeRole by the STS error it wraps: throttling is retried', async () => {
    // Act
    const failure = await assumeRoleFailure(awsError('Throttling', 400, 'Rate exceeded'));

    // Assess
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain('could not assume role arn:aws:iam::210987654321:role/w: Throttling: Rate exceeded');
    expect(classifyFailure(failure)).toBe('throttled');
  });

  it('classifies the error of a denied AssumeRole as fatal', async () => {
    // Act
    const failure = await assumeRoleFailure(awsError('AccessDenied', 403, 'not authorized to perform: sts:AssumeRole'));

    // Assess
    expect(classifyFailure(failure)).toBe('fatal');
  });

  it('classifies an error of ours without a cause by itself', () => {
    expect(classifyFailure(new StateTableError('no cause'))).toBe('fatal');
  });
});

describe('Function: backoffDelay', () => {
  it('draws from [0, min(max, base * 2^attempt))', () => {
    expect(backoffDelay(0, { baseDelayMs: 10, maxDelayMs: 100 }, () => 0.999)).toBe(9);
    expect(backoffDelay(3, { baseDelayMs: 10, maxDelayMs: 100 }, () => 0.5)).toBe(40);
    expect(backoffDelay(40, { baseDelayMs: 10, maxDelayMs: 100 }, () => 0.5)).toBe(50);
  });
});

describe('Function: sleep', () => {
  it('ends early when its signal fires, and at once for an aborted signal', async () => {
    // Prepare
    const controller = new AbortController();
    const started = Date.now();

    // Act
    const sleeping = sleep(5_000, controller.signal);
    setTimeout(() => controller.abort(), 10);
    await sleeping;
    await sleep(5_000, controller.signal);

    // Assess
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('Function: retryCall', () => {
  const deadlineIn = (ms: number): Deadline => new Deadline(Date.now() + ms);

  it('retries throttling and server errors until the call succeeds, passing the cut-off signal', async () => {
    // Prepare
    const deadline = deadlineIn(5_000);
    const call = vi
      .fn<(signal: AbortSignal) => Promise<string>>()
      .mockRejectedValueOnce(awsError('ThrottlingException', 400))
      .mockRejectedValueOnce(awsError('InternalServerError', 500))
      .mockResolvedValue('done');

    // Act
    const result = await retryCall(call, 'read a thing', { deadline, backoff: FAST_BACKOFF });
    deadline.release();

    // Assess
    expect(result).toBe('done');
    expect(call).toHaveBeenCalledTimes(3);
    expect(call.mock.calls[0]?.[0]).toBe(deadline.cutOff);
  });

  it('throws a fatal error at once', async () => {
    // Prepare
    const deadline = deadlineIn(5_000);
    const denied = awsError('AccessDeniedException', 400);
    const call = vi.fn<(signal: AbortSignal) => Promise<string>>().mockRejectedValue(denied);

    // Act
    const calling = retryCall(call, 'read a thing', { deadline });

    // Assess
    await expect(calling).rejects.toBe(denied);
    expect(call).toHaveBeenCalledTimes(1);
    deadline.release();
  });

  it('retries a wrapped throttling error, and throws a wrapped denial at once', async () => {
    // Prepare
    const deadline = deadlineIn(5_000);
    const throttled = new StateTableError('could not read', { cause: awsError('ThrottlingException', 400) });
    const denied = new StateTableError('could not read', { cause: awsError('AccessDeniedException', 400) });
    const call = vi.fn<(signal: AbortSignal) => Promise<string>>().mockRejectedValueOnce(throttled).mockRejectedValue(denied);

    // Act
    const calling = retryCall(call, 'write', { deadline, backoff: FAST_BACKOFF });

    // Assess
    await expect(calling).rejects.toBe(denied);
    expect(call).toHaveBeenCalledTimes(2);
    deadline.release();
  });

  it('throws OutOfTimeError with the last error when throttling outlasts the deadline', async () => {
    // Prepare
    const deadline = deadlineIn(80);
    const call = vi.fn<(signal: AbortSignal) => Promise<string>>().mockRejectedValue(awsError('ThrottlingException', 400, 'Rate exceeded'));

    // Act
    const calling = retryCall(call, 'read a thing', { deadline, backoff: { baseDelayMs: 5, maxDelayMs: 20 } });

    // Assess
    await expect(calling).rejects.toBeInstanceOf(OutOfTimeError);
    await expect(calling).rejects.toThrow('read a thing: not done before the deadline (last error: ThrottlingException: Rate exceeded)');
    expect(call.mock.calls.length).toBeGreaterThan(1);
    deadline.release();
  });

  it('makes no call once the deadline has passed', async () => {
    // Prepare
    const deadline = deadlineIn(-1);
    const call = vi.fn<(signal: AbortSignal) => Promise<string>>().mockResolvedValue('x');

    // Act & Assess
    await expect(retryCall(call, 'read a thing', { deadline })).rejects.toThrow('read a thing: not done before the deadline');
    expect(call).not.toHaveBeenCalled();
    deadline.release();
  });

  it('gives up rather than sleep past the deadline', async () => {
    // Prepare
    const deadline = deadlineIn(50);
    const call = vi.fn<(signal: AbortSignal) => Promise<string>>().mockRejectedValue(awsError('ThrottlingException', 400));
    const started = Date.now();

    // Act
    const calling = retryCall(call, 'x', { deadline, backoff: { baseDelayMs: 10_000, maxDelayMs: 10_000 }, random: () => 0.99 });

    // Assess
    await expect(calling).rejects.toBeInstanceOf(OutOfTimeError);
    expect(Date.now() - started).toBeLessThan(40);
    expect(call).toHaveBeenCalledTimes(1);
    deadline.release();
  });

  it('throws OutOfTimeError when the call is still running at the cut-off', async () => {
    // Prepare
    const deadline = new Deadline(Date.now() + 10, Date.now, Date.now() + 40);
    const call = (): Promise<string> => new Promise((resolve) => setTimeout(() => resolve('late'), 2_000));

    // Act
    const calling = retryCall(call, 'slow call', { deadline });

    // Assess
    await expect(calling).rejects.toThrow('slow call: not done before the deadline (last error: Error: the call was still running when the work had to end)');
    deadline.release();
  });
});
