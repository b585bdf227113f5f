/**
 * `launch` spawns the process and resolves once it is ready (it must stop what it spawned
 * when readiness fails). `first` is the process already running from the initial start.
 */
export function restartable(name, first, launch) {
    let proc;
    let busy = Promise.resolve();
    const crashHandlers = [];
    const intentional = new WeakSet();
    const adopt = (p) => {
        proc = p;
        void p.exited.then(() => {
            if (intentional.has(p))
                return;
            if (proc === p)
                proc = undefined;
            for (const h of crashHandlers)
                h(p);
        });
    };
    adopt(first);
    // One operation at a time: a stop racing a start would leave a stray process.
    const serial = (f) => {
        const next = busy.then(f, f);
        busy = next.catch(() => { });
        return next;
    };
    const stopNow = async () => {
        const p = proc;
        if (!p)
            return;
        intentional.add(p);
        proc = undefined;
        await p.stop();
    };
    const startNow = async () => {
        if (proc?.alive())
            return proc;
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
        restart: () => serial(async () => {
            await stopNow();
            return startNow();
        }),
        onCrash: (fn) => void crashHandlers.push(fn),
    };
}
//# sourceMappingURL=restartable.js.map