// AWS errors the operator cannot wait out: the request itself is wrong (a parameter AWS refuses,
// a quota, missing rights). Retrying them changes nothing, so they end Degraded with AWS's own
// words instead of a retry loop; throttling, 5xx and network errors stay retryable.

/** The AWS error code (the SDK's error name), or undefined for errors that are not AWS's. */
export function awsErrorCode(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string; $metadata?: unknown };
  if (!e || typeof e !== 'object' || e.$metadata === undefined) return undefined;
  return e.Code ?? e.name;
}

const THROTTLING = /Throttl|RequestLimitExceeded|TooManyRequests|SlowDown|RequestThrottled/;
const TERMINAL =
  /^(ValidationError|ValidationException|InvalidParameter\w*|MissingParameter|InvalidRequest\w*|InvalidUserData\.\w+|AccessDenied\w*|UnauthorizedOperation|InvalidInstanceId|InvalidDocument\w*|\w*LimitExceeded\w*|\w*Quota\w*Exceeded\w*|OptInRequired)$/;

export function isTerminalAwsError(err: unknown): boolean {
  const code = awsErrorCode(err);
  if (!code || THROTTLING.test(code)) return false;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && (status < 400 || status >= 500)) return false;
  return TERMINAL.test(code);
}

/**
 * Errors worth asking again: throttling, 5xx, timeouts and network errors (no HTTP status). A check
 * that maps every other error to a finding (S3's HeadBucket: 403, 404) must let these through.
 */
export function isTransientAwsError(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === undefined || status >= 500 || status === 429) return true;
  return THROTTLING.test(awsErrorCode(err) ?? '');
}

/** "InvalidParameterValue: Invalid CacheNodeType: cache.x9.huge" */
export function awsErrorText(err: unknown): string {
  return `${awsErrorCode(err) ?? 'Error'}: ${(err as Error).message}`;
}
