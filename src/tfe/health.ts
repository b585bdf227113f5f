// Probe TFE's /_health_check (a node, or the load balancer): healthy on HTTP 200.

import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { NodeHealth } from '../migration/observation.ts';

export interface ProbeOptions {
  timeoutMs?: number;
  insecureSkipTLSVerify?: boolean;
  ca?: string;
  /** Name to verify the certificate against (and send as SNI) when the URL names an IP address. */
  servername?: string;
}

export function nodeHealthUrl(template: string, instance: { id: string; privateIp?: string }): string {
  return template.replaceAll('{instanceId}', instance.id).replaceAll('{privateIp}', instance.privateIp ?? '');
}

export function probeHealth(url: string, opts: ProbeOptions = {}): Promise<NodeHealth> {
  const timeout = opts.timeoutMs ?? 3000;
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      resolve({ healthy: false, detail: `not a URL: ${url}` });
      return;
    }
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.get(
      u,
      { timeout, rejectUnauthorized: !opts.insecureSkipTLSVerify, ca: opts.ca, agent: false, ...(opts.servername && isIP(u.hostname.replace(/^\[|\]$/g, '')) ? { servername: opts.servername } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          if (body.length < 2048) body += c;
        });
        res.on('end', () => {
          const healthy = res.statusCode === 200;
          resolve({ healthy, detail: healthy ? 'healthy' : `HTTP ${res.statusCode}${summarize(body)}` });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on('error', (err) => resolve({ healthy: false, detail: err.message }));
  });
}

function summarize(body: string): string {
  try {
    const j = JSON.parse(body);
    const reason = j.reason ?? j.message ?? j.error;
    return reason ? `: ${String(reason).slice(0, 200)}` : '';
  } catch {
    return body.trim() ? `: ${body.trim().slice(0, 120)}` : '';
  }
}
