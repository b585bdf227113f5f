// Minimal bash quoting for the user data renderer and its parser. Only the forms the
// renderer writes are read back: single-quoted words, and double-quoted words whose only
// expansions are the variables in `allowedVars` (written as ${NAME}).

/** One bash word that expands to exactly `s` (single quotes; `'` written as '\''). */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A double-quoted bash word in which `${NAME}` for each allowed NAME expands at run time;
 * every other character is literal.
 */
export function shdq(s: string, allowedVars: readonly string[]): string {
  let out = '';
  let i = 0;
  outer: while (i < s.length) {
    for (const name of allowedVars) {
      const ref = `\${${name}}`;
      if (s.startsWith(ref, i)) {
        out += ref;
        i += ref.length;
        continue outer;
      }
    }
    const c = s[i]!;
    out += c === '\\' || c === '"' || c === '$' || c === '`' ? `\\${c}` : c;
    i++;
  }
  return `"${out}"`;
}

export class ShellParseError extends Error {}

/**
 * Splits one line into bash words, accepting only what the renderer writes: bare words of
 * safe characters, '…' words, and "…" words with \-escapes and ${ALLOWED} references
 * (kept literally as `${NAME}`). Anything else (globs, $(…), unknown variables,
 * comments mid-line) is rejected rather than guessed at.
 */
export function splitWords(line: string, allowedVars: readonly string[] = []): string[] {
  const words: string[] = [];
  let i = 0;
  let cur: string | undefined;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
      i++;
      continue;
    }
    cur ??= '';
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellParseError('unterminated single quote');
      cur += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '\\') {
      if (i + 1 >= n) throw new ShellParseError('trailing backslash');
      cur += line[i + 1];
      i += 2;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new ShellParseError('unterminated double quote');
        const d = line[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\') {
          const e = line[i + 1];
          if (e === '\\' || e === '"' || e === '$' || e === '`') {
            cur += e;
            i += 2;
          } else {
            cur += d;
            i++;
          }
        } else if (d === '$') {
          const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(line.slice(i));
          if (!m || !allowedVars.includes(m[1]!)) {
            throw new ShellParseError(`unsupported expansion at "${line.slice(i, i + 20)}"`);
          }
          cur += m[0];
          i += m[0].length;
        } else if (d === '`') {
          throw new ShellParseError('command substitution is not supported');
        } else {
          cur += d;
          i++;
        }
      }
    } else if (/[A-Za-z0-9_@%+=:,./-]/.test(c)) {
      cur += c;
      i++;
    } else {
      throw new ShellParseError(`unsupported character ${JSON.stringify(c)}`);
    }
  }
  if (cur !== undefined) words.push(cur);
  return words;
}
