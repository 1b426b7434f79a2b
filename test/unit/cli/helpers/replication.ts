import { BatchGetItemCommand, BatchWriteItemCommand, type BatchGetItemCommandInput, type BatchWriteItemCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { STATE_TABLE } from '../../helpers/config';
import type { FakeStateTable } from '../../helpers/fake-state-table';
import type { FakeTables } from './fake-tables';

/**
 * The master and slave tables (`tables`) and the state table (`state`) behind one mocked client, as the command-line
 * tool meets them: a call naming the state table goes to `state`, any other to `tables`.
 */
export function installReplication(ddb: AwsClientStub<DynamoDBClient>, tables: FakeTables, state: FakeStateTable): void {
  tables.install(ddb);
  state.install(ddb);
  const forState = (input: { RequestItems?: Record<string, unknown> | undefined }): boolean => input.RequestItems?.[STATE_TABLE] !== undefined;
  ddb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => (forState(input) ? state.batchGetItem(input) : tables.batchGetItem(input)));
  ddb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => (forState(input) ? state.batchWriteItem(input) : tables.batchWriteItem(input)));
}
