// Who may read the status API's /v1/* (the TfeClusters the operator watches, their phases and
// messages, the replicas and their addresses): a caller with a bearer token that the API server
// accepts (TokenReview) and who may `list` TfeClusters where they ask (SubjectAccessReview),
// the way kube-rbac-proxy and aggregated API servers delegate. /healthz, /readyz and /metrics
// stay open (probes and Prometheus). RBAC: create tokenreviews and subjectaccessreviews
// (manifests/base/rbac/auth-delegator.yaml).

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL } from '../api/types.ts';

/** The access a request needs: `verb` on TfeClusters in `namespace` ("" = every namespace). */
export interface Access {
  verb: 'list' | 'get';
  namespace: string;
}

export type Decision = { allowed: true; user: string } | { allowed: false; status: 401 | 403 | 503; reason: string };

export interface Authorizer {
  authorize(req: IncomingMessage, access: Access): Promise<Decision>;
}

/** The bearer token of an Authorization header, if it carries one. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}

/** What an Authorizer asks the API server (a seam for unit tests). */
export interface ReviewApi {
  tokenReview(token: string): Promise<{ authenticated: boolean; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> }; error?: string }>;
  accessReview(user: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> }, access: Access): Promise<{ allowed: boolean; reason?: string }>;
}

export function kubeReviewApi(kc: k8s.KubeConfig): ReviewApi {
  const authn = kc.makeApiClient(k8s.AuthenticationV1Api);
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  return {
    async tokenReview(token) {
      const r = await authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
      return { authenticated: !!r.status?.authenticated, user: r.status?.user, error: r.status?.error };
    },
    async accessReview(user, access) {
      const r = await authz.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            uid: user.uid,
            groups: user.groups,
            extra: user.extra,
            resourceAttributes: { group: GROUP, resource: PLURAL, verb: access.verb, namespace: access.namespace || undefined },
          },
        },
      });
      return { allowed: !!r.status?.allowed && !r.status?.denied, reason: r.status?.reason };
    },
  };
}

export interface KubeAuthorizerOptions {
  /** How long a decision is reused for the same token and access; default 10 s. */
  cacheMs?: number;
  now?: () => number;
}

/** TokenReview, then SubjectAccessReview; decisions cached briefly per (token hash, access). */
export function kubeAuthorizer(api: ReviewApi, opts: KubeAuthorizerOptions = {}): Authorizer {
  const cacheMs = opts.cacheMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { at: number; decision: Decision }>();
  const describe = (a: Access) => `${a.verb} ${PLURAL}.${GROUP} ${a.namespace ? `in namespace ${a.namespace}` : 'in every namespace (cluster-wide)'}`;
  async function decide(token: string, access: Access): Promise<Decision> {
    const review = await api.tokenReview(token);
    if (!review.authenticated || !review.user?.username) return { allowed: false, status: 401, reason: 'the bearer token was not accepted by the API server' };
    const user = review.user;
    const sar = await api.accessReview(user, access);
    if (!sar.allowed) return { allowed: false, status: 403, reason: `${user.username} may not ${describe(access)}` };
    return { allowed: true, user: user.username! };
  }
  return {
    async authorize(req, access) {
      const token = bearerToken(req);
      if (!token) return { allowed: false, status: 401, reason: `a bearer token is needed (a Kubernetes token of someone who may ${describe(access)})` };
      const key = `${createHash('sha256').update(token).digest('hex')}|${access.verb}|${access.namespace}`;
      const hit = cache.get(key);
      if (hit && now() - hit.at < cacheMs) return hit.decision;
      let decision: Decision;
      try {
        decision = await decide(token, access);
      } catch (err) {
        // Not cached: the API server may answer next time.
        return { allowed: false, status: 503, reason: `cannot check the token with the API server: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (cache.size > 1000) cache.clear();
      cache.set(key, { at: now(), decision });
      return decision;
    },
  };
}
