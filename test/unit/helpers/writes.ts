import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { keyIdentity } from '../../../handler/attribute-value';
import type { WriteRequest } from '../../../handler/types';

/** A put of item `pk = id`. */
export function putWrite(id: string, value = 'v'): WriteRequest {
  const key = { pk: { S: id } };
  return { kind: 'put', keyId: keyIdentity(key), key, item: { ...key, value: { S: value } } };
}

/** A delete of item `pk = id`. */
export function deleteWrite(id: string): WriteRequest {
  const key = { pk: { S: id } };
  return { kind: 'delete', keyId: keyIdentity(key), key };
}

/** An error shaped as the SDK raises it for a DynamoDB error response. */
export function awsError(name: string, status: number, message = `${name} from the test`): DynamoDBServiceException {
  return new DynamoDBServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

export const FAST_BACKOFF = { baseDelayMs: 1, maxDelayMs: 4 };
