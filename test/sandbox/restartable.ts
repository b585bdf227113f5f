// A sandbox part that can be stopped and started again in place (same address, same data),
// for fault tests: Redis, etcd and kube-apiserver going away during a migration. An exit
// the part did not ask for still counts as a crash (the supervisor takes the sandbox down).
import type { Proc } from './procs.ts';

export interface Restartable {
  readonly name: string;
  /** The running process; undefined while stopped on purpose. */
  current(): Proc | undefined;
  running(): boolean;
  /** Stops the process (SIGTERM, then SIGKILL); its exit is not reported as a crash. */
  stop(): Promise<void>;
  /** Starts it again with the same arguments, address and data; resolves when it is ready. */
  start(): Promise<Proc>;
  restart(): Promise<Proc>;
  /** Called when the process exits without stop() having been asked for. */
  onCrash(fn: (proc: Proc) => void): void;
}

/**
 * `launch` spawns the process and resolves once it is ready (it must stop what it spawned
 * when readiness fails). `first` is the process already running from the initial start.
 */
export function restartable(name: string, first: Proc, launch: () => Promise<Proc>): Restartable {
  let proc: Proc | undefined;
  let busy: Promise<unknown> = Promise.resolve();
  const crashHandlers: Array<(p: Proc) => void> = [];
  const intentional = new WeakSet<Proc>();

  const adopt = (p: Proc) => {
    proc = p;
    void p.exited.then(() => {
      if (intentional.has(p)) return;
      if (proc === p) proc = undefined;
      for (const h of crashHandlers) h(p);
    });
  };
  adopt(first);

  // One operation at a time: a stop racing a start would leave a stray process.
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const next = busy.then(f, f);
    busy = next.catch(() => {});
    return next;
  };

  const stopNow = async () => {
    const p = proc;
    if (!p) return;
    intentional.add(p);
    proc = undefined;
    await p.stop();
  };
  const startNow = async () => {
    if (proc?.alive()) return proc;
    const p = await launch();
    adopt(p);
    return p;
  };

  return {
    name,
    current: () => proc,
    running: () => !!proc?.alive(),
    stop: () => serial(stopNow),
    start: () => serial(startNow),
    restart: () =>
      serial(async () => {
        await stopNow();
        return startNow();
      }),
    onCrash: (fn) => void crashHandlers.push(fn),
  };
}
