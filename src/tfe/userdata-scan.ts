// Reading launch template user data the operator may not have written: what a running install
// takes its enc_password from, and whether a script names a resource (a secret id, a Redis
// host). Pure functions over the script's text; no I/O. Values found here are secrets: the
// callers keep them in memory only.

/** Where a running install's enc_password comes from. */
export type EncPasswordSource =
  /** In clear in the user data: a settings JSON with "enc_password": {"value": "..."} (also inside base64 the script decodes). */
  | { kind: 'clear'; value: string }
  /** Read at boot from a Secrets Manager secret (its SecretString, or a key "enc_password" of it when that is JSON). */
  | { kind: 'secret'; secretId: string }
  | { kind: 'unknown'; reason: string };

/**
 * The script's text and every base64 run in it that decodes to readable text (HashiCorp's
 * module embeds its settings as `echo '<base64>' | base64 -d`), so a search sees both.
 */
export function userDataTexts(script: string): string[] {
  const out = [script];
  for (const m of script.matchAll(/[A-Za-z0-9+/]{24,}={0,2}/g)) {
    const text = Buffer.from(m[0], 'base64').toString('utf8');
    // Readable text only (no replacement characters, no control characters but whitespace).
    if (!/[\uFFFD\x00-\x08\x0E-\x1F]/.test(text)) out.push(text);
  }
  return out;
}

const CLEAR = /"enc_password"\s*:\s*\{\s*"value"\s*:\s*("(?:[^"\\]|\\.)*")/;
const ARN = /arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+/g;
const SECRET_ID_FLAG = /--secret-id[=\s]+(["']?)(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|[A-Za-z0-9/_+=.@:-]+)\1/g;

/**
 * Where the install that `script` (or its parsed form, for the operator's own user data) sets
 * up reads enc_password from. Shapes understood: the operator's user data (`ownSecretId`, the
 * secret its install kind names); a settings JSON holding the value in clear (hand-built installs, HashiCorp's
 * module in base64); a line that names enc_password and a secret, by ARN or with
 * `aws secretsmanager get-secret-value --secret-id <id or $VAR>`.
 */
export function findEncPasswordSource(script: string, ownSecretId?: string): EncPasswordSource {
  if (ownSecretId) return { kind: 'secret', secretId: ownSecretId };
  for (const text of userDataTexts(script)) {
    const m = CLEAR.exec(text);
    if (m) return { kind: 'clear', value: JSON.parse(m[1]!) as string };
  }
  const vars = shellAssignments(script);
  const ids = new Set<string>();
  for (const line of script.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    // Replicated's setting, or FDO's variable (HashiCorp's HVD module: TFE_ENCRYPTION_PASSWORD=$(... --secret-id <arn> ...)).
    if (/^\s*#/.test(line) || !/enc_password|TFE_ENCRYPTION_PASSWORD/.test(line)) continue;
    for (const m of line.matchAll(ARN)) ids.add(m[0]);
    for (const m of line.matchAll(SECRET_ID_FLAG)) {
      const raw = m[2]!;
      const v = raw.startsWith('$') ? vars.get(raw.replace(/^\$\{?|\}$/g, '')) : raw;
      if (v) ids.add(v);
    }
  }
  if (ids.size === 1) return { kind: 'secret', secretId: [...ids][0]! };
  if (ids.size > 1) return { kind: 'unknown', reason: `its user data names several secrets on the lines that mention enc_password (${[...ids].join(', ')})` };
  return {
    kind: 'unknown',
    reason: 'its user data neither holds enc_password in a settings JSON nor names the Secrets Manager secret (by ARN, or with --secret-id) on a line that mentions enc_password',
  };
}

/** `NAME=value` / `NAME="value"` / `export NAME='value'` assignments of literal values. */
function shellAssignments(script: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const m of script.matchAll(/^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=(["']?)([A-Za-z0-9/_+=.@:-]+)\2\s*$/gm)) {
    vars.set(m[1]!, m[3]!);
  }
  return vars;
}

/**
 * The value a secret holds for enc_password: a SecretString that is a JSON object with an
 * "enc_password" key (`jq -r .enc_password`) gives that key, any other SecretString itself.
 */
export function encPasswordFromSecretString(text: string): string {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as Record<string, unknown>).enc_password === 'string') {
      return (parsed as Record<string, string>).enc_password;
    }
  } catch {
    // not JSON: the value itself
  }
  return text;
}

/**
 * Whether the script names `needle` (a secret name or ARN, a Redis host) as a whole word: not
 * as the start of a longer name (`.../setting-pg` inside `.../setting-pg_password`). Searches the
 * base64 runs the script decodes too.
 */
export function userDataNames(script: string, needle: string): boolean {
  if (!needle) return false;
  const re = new RegExp(`(?<![A-Za-z0-9/_+=.@:-])${needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9/_+=.@-])`);
  return userDataTexts(script).some((t) => re.test(t));
}
