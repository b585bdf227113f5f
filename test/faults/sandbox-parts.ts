// Stop and start parts of the running sandbox (Redis, etcd, kube-apiserver) in place, through
// the supervisor's control endpoint (test/sandbox/control.ts, SANDBOX_CONTROL_URL in the
// sandbox env). The supervisor does not count these as crashes.
import '../harness.ts'; // loads the sandbox env into process.env when run on its own

export type PartName = 'redis' | 'etcd' | 'kube-apiserver';

export interface PartState {
  name: string;
  running: boolean;
  pid: number | null;
  ms?: number;
}

function controlUrl(): string {
  const url = process.env.SANDBOX_CONTROL_URL;
  if (!url) {
    throw new Error(
      'SANDBOX_CONTROL_URL is not set: this sandbox was started by a supervisor without the control endpoint ' +
        '(test/sandbox/control.ts); restart it (make sandbox-down && make sandbox-up)',
    );
  }
  return url;
}

async function call(method: 'GET' | 'POST', path: string, timeoutMs = 150_000): Promise<unknown> {
  const res = await fetch(`${controlUrl()}${path}`, { method, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) throw new Error(`sandbox control ${method} ${path}: HTTP ${res.status}: ${(body as { error?: string })?.error ?? text}`);
  return body;
}

export const hasPartControl = (): boolean => !!process.env.SANDBOX_CONTROL_URL;

export async function parts(): Promise<PartState[]> {
  return (await call('GET', '/parts')) as PartState[];
}

/** Stops the part; resolves once its process is gone. */
export async function stopPart(name: PartName): Promise<PartState> {
  return (await call('POST', `/parts/${name}/stop`)) as PartState;
}

/** Starts it again (same address, data and password); resolves once it answers. */
export async function startPart(name: PartName): Promise<PartState> {
  return (await call('POST', `/parts/${name}/start`)) as PartState;
}

export async function restartPart(name: PartName): Promise<PartState> {
  return (await call('POST', `/parts/${name}/restart`)) as PartState;
}
