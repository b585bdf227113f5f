import { test } from 'node:test';
import assert from 'node:assert/strict';
import { awsErrorText, isTerminalAwsError } from './errors.ts';

const aws = (name: string, status: number, message = 'm') => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

test('refusals that a retry cannot change are terminal; throttling, 5xx and non-AWS errors are not', () => {
  for (const [name, status] of [
    ['ValidationError', 400],
    ['InvalidParameterValue', 400],
    ['InvalidParameterCombination', 400],
    ['InvalidUserData.Malformed', 400],
    ['AccessDeniedException', 400],
    ['AccessDenied', 403],
    ['UnauthorizedOperation', 403],
    ['LimitExceededException', 400],
    ['NodeQuotaForCustomerExceeded', 400],
    ['InvalidRequestException', 400],
  ] as const) {
    assert.equal(isTerminalAwsError(aws(name, status)), true, name);
  }
  for (const [name, status] of [
    ['Throttling', 400],
    ['ThrottlingException', 400],
    ['RequestLimitExceeded', 503],
    ['InternalFailure', 500],
    ['ValidationError', 500],
    ['InvalidReplicationGroupState', 400], // a state that passes
    ['ResourceNotFoundException', 400],
  ] as const) {
    assert.equal(isTerminalAwsError(aws(name, status)), false, name);
  }
  assert.equal(isTerminalAwsError(new Error('ECONNRESET')), false);
  assert.equal(awsErrorText(aws('InvalidParameterValue', 400, 'Invalid CacheNodeType')), 'InvalidParameterValue: Invalid CacheNodeType');
});
