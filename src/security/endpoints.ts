// Where the operator may send requests a TfeCluster asks for (issue 15, "requests to any URL"):
// the health probes and the validation run. A TfeCluster author must not make the operator GET
// (or send an API token to) any address its network reaches, the instance metadata service
// included. Allowed:
//   - spec.health.nodeUrlTemplate: the node itself, `{privateIp}` as the host;
//   - spec.health.url and spec.validation.address: the TFE hostname (the `hostname` setting);
//   - any of these: a host the operator's administrator lists in TFE_OPERATOR_ENDPOINT_HOSTS
//     (comma-separated; e.g. the load balancer's DNS name when it is not the TFE hostname).
// Pure: observe() skips refused endpoints, the planner reports them.

export interface EndpointProblem {
  field: string;
  url: string;
  host: string;
}

/**
 * An operator run by hand (or by a test harness) beside a sandbox whose nodes and load balancer are
 * on loopback; the shipped Deployment sets TFE_OPERATOR_ENDPOINT_HOSTS (empty), so a real install
 * allows no loopback host unless its administrator lists one.
 */
export const UNSET_DEFAULT_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** The administrator's extra hosts (TFE_OPERATOR_ENDPOINT_HOSTS; loopback when unset), lower-case. */
export function endpointHostsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.TFE_OPERATOR_ENDPOINT_HOSTS === undefined) return UNSET_DEFAULT_HOSTS;
  return env.TFE_OPERATOR_ENDPOINT_HOSTS
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

/** The host of an http(s) URL (placeholders such as {privateIp} kept), lower-case; undefined when none. */
function hostOf(url: string): string | undefined {
  const m = /^https?:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^/:?#]+)/i.exec(url);
  return m?.[1]?.toLowerCase();
}

export function endpointProblems(
  spec: { health?: { url?: string; nodeUrlTemplate?: string }; validation?: { address: string } },
  tfeHostname: string | undefined,
  extraHosts: readonly string[],
): EndpointProblem[] {
  const out: EndpointProblem[] = [];
  const tfe = tfeHostname?.toLowerCase();
  const check = (field: string, url: string | undefined, allowed: (host: string) => boolean) => {
    if (url === undefined) return;
    const host = hostOf(url) ?? '';
    if (!allowed(host) && !extraHosts.includes(host)) out.push({ field, url, host });
  };
  check('spec.health.nodeUrlTemplate', spec.health?.nodeUrlTemplate, (h) => h === '{privateip}');
  check('spec.health.url', spec.health?.url, (h) => h === tfe);
  check('spec.validation.address', spec.validation?.address, (h) => h === tfe);
  return out;
}

/** One message for the planner: each refused URL, and the two ways to allow it. */
export function endpointMessage(problems: readonly EndpointProblem[], tfeHostname: string | undefined): string {
  const each = problems.map((p) => `${p.field} (${p.url}) names host ${p.host || '(none)'}`).join('; ');
  return (
    `${each}: the operator sends requests only to the nodes ({privateIp} in spec.health.nodeUrlTemplate) and to the TFE hostname ` +
    `(${tfeHostname ?? 'the hostname setting, which is not set'}) for spec.health.url and spec.validation.address. ` +
    `Use those, or ask the operator's administrator to allow the host in TFE_OPERATOR_ENDPOINT_HOSTS (docs/security.md)`
  );
}
