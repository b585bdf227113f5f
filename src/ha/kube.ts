// Shared helpers of the HA code. Thin helpers over @kubernetes/client-node 1.4's CoordinationV1Api: the subset of the
// Lease API the HA code uses (so tests can substitute it), per-request deadlines, and
// HTTP status extraction from its ApiException.

import { statusCode as httpStatus } from '../kube/client.ts';
import type { ConfigurationOptions, ObservableMiddleware, V1Lease, V1LeaseList, V1Status } from '@kubernetes/client-node';
import { Observable, V1MicroTime } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';

/** The part of client-node's `CoordinationV1Api` (object-style parameters) that we use. */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }, options?: ConfigurationOptions): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }, options?: ConfigurationOptions): Promise<V1Lease>;
  replaceNamespacedLease(
    param: { name: string; namespace: string; body: V1Lease },
    options?: ConfigurationOptions,
  ): Promise<V1Lease>;
  listNamespacedLease(
    param: { namespace: string; labelSelector?: string },
    options?: ConfigurationOptions,
  ): Promise<V1LeaseList>;
  deleteNamespacedLease(
    param: {
      name: string;
      namespace: string;
      body?: { preconditions?: { resourceVersion?: string; uid?: string } };
    },
    options?: ConfigurationOptions,
  ): Promise<V1Status>;
}

export class RequestDeadlineError extends Error {
  constructor(ms: number) {
    super(`request did not complete within ${ms}ms`);
    this.name = 'RequestDeadlineError';
  }
}

/**
 * Request options that abort the HTTP request when `signal` fires. client-node 1.4 has no
 * client-side timeout; a request to a partitioned apiserver would hang for minutes.
 * The ObjectParam API (what `makeApiClient(CoordinationV1Api)` returns) hands these
 * options to the Observable API, so the middleware returns its (Promise-backed) Observable,
 * exactly like client-node's own `setHeaderMiddleware`.
 */
export function deadlineOptions(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (ctx) => new Observable(Promise.resolve(ctx)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/**
 * Runs `call` with a hard deadline: the request is aborted and the returned promise
 * rejects with RequestDeadlineError after `ms`, whatever the transport does.
 */
export async function withDeadline<T>(
  ms: number,
  call: (opts: ConfigurationOptions) => Promise<T>,
  cancel?: AbortSignal,
): Promise<T> {
  const budget = Math.max(1, Math.floor(ms));
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onCancel: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new RequestDeadlineError(budget));
    }, budget);
    if (cancel) {
      onCancel = () => {
        ac.abort();
        reject(new RequestCancelledError());
      };
      if (cancel.aborted) onCancel();
      else cancel.addEventListener('abort', onCancel, { once: true });
    }
  });
  try {
    const p = call(deadlineOptions(ac.signal));
    p.catch(() => undefined); // a late rejection after the deadline must not go unhandled
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
    if (onCancel) cancel?.removeEventListener('abort', onCancel);
  }
}

export class RequestCancelledError extends Error {
  constructor() {
    super('request cancelled');
    this.name = 'RequestCancelledError';
  }
}

/** HTTP status code of a client-node error: the one helper in src/kube/client.ts. */
export { httpStatus };

/** A short, secret-free description of an API error for logs. */
export function describeError(err: unknown): string {
  const code = httpStatus(err);
  if (code !== undefined) {
    const body = (err as { body?: unknown }).body;
    let reason = '';
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { reason?: string; message?: string };
        reason = parsed.message ?? parsed.reason ?? '';
      } catch {
        reason = body.slice(0, 200);
      }
    } else if (body && typeof body === 'object') {
      reason = String((body as { message?: string }).message ?? '');
    }
    return `HTTP ${code}${reason ? `: ${reason}` : ''}`;
  }
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string } }).cause;
    const code2 = (err as { code?: string }).code ?? cause?.code;
    return code2 ? `${err.message} (${code2})` : err.message;
  }
  return String(err);
}

/** A MicroTime for Lease spec fields (serialized with microsecond precision). */
export function microTime(date: Date = new Date()): V1MicroTime {
  return new V1MicroTime(date.getTime());
}

/** Lease timestamps come back as strings (client-node does not parse MicroTime) or Dates. */
export function toMillis(t: unknown): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : new Date(String(t)).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** Canonical string of a timestamp for record comparison. */
export function timeKey(t: unknown): string {
  const ms = toMillis(t);
  if (ms === undefined) return '';
  // Keep microseconds if the server sent them as a string.
  return typeof t === 'string' ? t : new Date(ms).toISOString();
}

export const monotonicNow = (): number => performance.now();

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The HA components' logger: a child with component=ha and the replica id (unless the
 * operator's logger already carries that id, so a line never has two "id" keys).
 */
export function haLogger(base: Logger | undefined, identity: string): Logger {
  const root = base ?? pino({ name: 'tfe-operator' });
  const bindings = root.bindings() as { id?: unknown };
  return root.child(bindings.id === identity ? { component: 'ha' } : { component: 'ha', id: identity });
}
