// Shared by the manifest linters' tests (kube-score, checkov): rendered manifests cached per
// target, and the rule that every documented exception has a reason and is still needed.
import assert from 'node:assert/strict';

export function cachedRender(render: (target: string) => Promise<string>): (target: string) => Promise<string> {
  const rendered = new Map<string, string>();
  return async (target) => {
    if (!rendered.has(target)) rendered.set(target, await render(target));
    return rendered.get(target)!;
  };
}

/** Runs the linter once per exception with all the others on: each must still catch something. */
export async function assertExceptionsNeeded(
  file: string,
  all: Array<{ id: string; reason?: string }>,
  lint: (skipped: string[]) => Promise<{ findings: Array<{ check: string }> }>,
): Promise<void> {
  assert.ok(all.length > 0);
  for (const e of all) {
    assert.ok(e.reason && e.reason.length > 20, `${e.id} has no reason`);
    const r = await lint(all.filter((x) => x.id !== e.id).map((x) => x.id));
    assert.ok(r.findings.some((f) => f.check === e.id), `${e.id} passes without its exception; remove it from ${file}`);
  }
}
