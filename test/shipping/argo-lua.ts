// Runs Argo CD resource-customization scripts (health.lua, discovery.lua, action.lua)
// in a real Lua 5.1 interpreter, the way Argo CD runs them in gopher-lua:
//   - `obj` is a global Lua table built from the object (util/lua decodeValue: maps
//     become hash tables, lists become sequences, nulls are absent),
//   - only the base, table and a "safe" os library (time, date) are loaded: no string.*,
//     math.*, io.*, debug.*, coroutine.*, and no string methods ("x"):len(),
//   - the returned table is JSON-encoded the way layeh.com/gopher-json does it
//     (a table with keys 1..n is an array, an empty table is []),
//   - for actions, Argo CD then puts back empty maps the script turned into [] (cleanReturnedObj).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LUA = process.env.LUA ?? 'lua5.1';

/** A Lua expression that evaluates to `value` (a JSON-like value from a YAML fixture). */
export function toLua(value: unknown, depth = 0): string {
  if (depth > 150) throw new Error('toLua: nesting too deep for a Lua table constructor');
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`toLua: ${value} has no Lua literal`);
    return Number.isInteger(value) ? String(value) : value.toPrecision(17);
  }
  if (typeof value === 'string') return luaString(value);
  if (Array.isArray(value)) {
    if (value.some((v) => v === null || v === undefined)) {
      throw new Error('toLua: null inside a list has no faithful Lua equivalent');
    }
    return `{${value.map((v) => toLua(v, depth + 1)).join(', ')}}`;
  }
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === null || v === undefined) continue; // decodeValue: nil, so the key is absent
      parts.push(`[${luaString(k)}] = ${toLua(v, depth + 1)}`);
    }
    return `{${parts.join(', ')}}`;
  }
  throw new Error(`toLua: unsupported value of type ${typeof value}`);
}

/** A double-quoted Lua 5.1 string literal; every byte outside printable ASCII is a \ddd escape. */
export function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte}`;
  }
  return out + '"';
}

// The runner: builds Argo CD's environment, runs the script in it, prints the result as
// JSON between markers (so that a stray print() in a script cannot corrupt it).
const RUNNER = String.raw`
local script_path, obj_path = arg[1], arg[2]
local sformat, sbyte, sgsub, concat, floor = string.format, string.byte, string.gsub, table.concat, math.floor
local huge = math.huge

local function encode(v, seen)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return v and "true" or "false" end
  if t == "number" then
    if v ~= v or v == huge or v == -huge then error("cannot encode " .. tostring(v) .. " as JSON") end
    if v == floor(v) and v > -9007199254740992 and v < 9007199254740992 then return sformat("%d", v) end
    return sformat("%.17g", v)
  end
  if t == "string" then
    return '"' .. sgsub(v, '[%c"\\]', function(c)
      if c == '"' then return '\\"' end
      if c == "\\" then return "\\\\" end
      return sformat("\\u%04x", sbyte(c))
    end) .. '"'
  end
  if t == "table" then
    seen = seen or {}
    if seen[v] then error("cannot encode a table that contains itself") end
    seen[v] = true
    local n, count = #v, 0
    for _ in pairs(v) do count = count + 1 end
    local parts = {}
    if count == n then -- keys are exactly 1..n (an empty table is [] too, like gopher-json)
      for i = 1, n do parts[i] = encode(v[i], seen) end
      seen[v] = nil
      return "[" .. concat(parts, ",") .. "]"
    end
    for k, val in pairs(v) do
      local kt = type(k)
      if kt ~= "string" and kt ~= "number" then error("cannot encode a " .. kt .. " key") end
      parts[#parts + 1] = encode(tostring(k)) .. ":" .. encode(val, seen)
    end
    seen[v] = nil
    return "{" .. concat(parts, ",") .. "}"
  end
  error("cannot encode a " .. t)
end

local obj_chunk = assert(loadfile(obj_path))
local obj = obj_chunk()

-- Argo CD's VM: lua.OpenPackage, lua.OpenBase, lua.OpenTable and OpenSafeOs only.
local env = {}
for _, name in ipairs({ "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall",
    "rawequal", "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type",
    "unpack", "xpcall", "_VERSION" }) do
  env[name] = _G[name]
end
env.print = function(...) -- keep stdout for the result
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  io.stderr:write(concat(parts, "\t"), "\n")
end
env.table = { insert = table.insert, remove = table.remove, concat = table.concat,
  sort = table.sort, getn = table.getn, maxn = table.maxn }
env.os = { time = os.time, date = os.date }
env.require = function(name)
  if name == "os" then return env.os end
  error("module '" .. tostring(name) .. "' not found")
end
env._G = env
env.obj = obj

local chunk, load_err = loadfile(script_path)
if not chunk then io.stderr:write("LOAD ERROR: ", load_err, "\n") os.exit(3) end
setfenv(chunk, env)

local string_mt = getmetatable("")
local string_index = string_mt.__index
string_mt.__index = nil -- gopher-lua has no string methods without the string library
local ok, result = pcall(chunk)
string_mt.__index = string_index

if not ok then io.stderr:write("LUA ERROR: ", tostring(result), "\n") os.exit(2) end
local encoded_ok, json = pcall(encode, result)
if not encoded_ok then io.stderr:write("ENCODE ERROR: ", tostring(json), "\n") os.exit(4) end
io.write("<<<RESULT>>>", json, "<<<END>>>")
`;

export class LuaScriptError extends Error {
  constructor(
    message: string,
    readonly luaMessage: string,
  ) {
    super(message);
  }
}

/**
 * Runs `scriptPath` with `obj` as Argo CD would and returns the script's return value,
 * decoded from JSON. Throws LuaScriptError when the script raises an error.
 */
export async function runArgoLua(scriptPath: string, obj: unknown): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'argo-lua-'));
  try {
    const runner = join(dir, 'runner.lua');
    const objFile = join(dir, 'obj.lua');
    await writeFile(runner, RUNNER);
    await writeFile(objFile, `return ${toLua(obj)}\n`);
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      execFile(LUA, [runner, scriptPath, objFile], { timeout: 10_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
          reject(new Error(`cannot run ${LUA}: ${err.message} (apt-get install -y lua5.1)`));
          return;
        }
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
    if (code === 2) {
      const luaMessage = stderr.replace(/^LUA ERROR: /, '').trim();
      throw new LuaScriptError(`${scriptPath}: ${luaMessage}`, luaMessage);
    }
    const m = /<<<RESULT>>>([\s\S]*)<<<END>>>/.exec(stdout);
    if (code !== 0 || !m) throw new Error(`${scriptPath}: lua exited ${code}: ${stderr.trim()}`);
    return JSON.parse(m[1]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Argo CD's HealthStatus from a health.lua result (util/lua ExecuteHealthLua). */
export function toHealthStatus(result: unknown): { status: string; message: string } {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw new Error(`health.lua must return a table with status/message, got ${JSON.stringify(result)}`);
  }
  const r = result as { status?: unknown; message?: unknown };
  const valid = ['Unknown', 'Progressing', 'Suspended', 'Healthy', 'Degraded', 'Missing'];
  if (typeof r.status !== 'string' || !valid.includes(r.status)) {
    return { status: 'Unknown', message: 'Lua returned an invalid health status' };
  }
  return { status: r.status, message: typeof r.message === 'string' ? r.message : '' };
}

export interface DiscoveredAction {
  name: string;
  disabled: boolean;
  iconClass?: string;
  displayName?: string;
}

/** Argo CD's []ResourceAction from a discovery.lua result (util/lua ExecuteResourceActionDiscovery). */
export function toResourceActions(result: unknown): DiscoveredAction[] {
  if (Array.isArray(result) && result.length === 0) return [];
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw new Error(`discovery.lua must return a table of actions, got ${JSON.stringify(result)}`);
  }
  return Object.entries(result as Record<string, unknown>).map(([name, value]) => {
    const action: DiscoveredAction = { name, disabled: false };
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      if (typeof v.disabled === 'boolean') action.disabled = v.disabled;
      if (typeof v.iconClass === 'string') action.iconClass = v.iconClass;
      if (typeof v.displayName === 'string') action.displayName = v.displayName;
    }
    return action;
  });
}

/**
 * util/lua cleanReturnedObj: Lua cannot tell an empty map from an empty list, so Argo CD
 * restores a map wherever the original object had a map and the script returned [].
 */
export function cleanReturnedObj(newObj: Record<string, unknown>, oldObj: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(oldObj)) {
    if (!(key in newObj)) continue;
    const nv = newObj[key];
    const ov = oldObj[key];
    if (isMap(nv) && isMap(ov)) newObj[key] = cleanReturnedObj(nv, ov);
    else if (Array.isArray(nv)) {
      if (isMap(ov) && nv.length === 0) newObj[key] = ov;
      else if (Array.isArray(ov)) newObj[key] = cleanReturnedArray(nv, ov);
    }
  }
  return newObj;
}

function cleanReturnedArray(newArr: unknown[], oldArr: unknown[]): unknown[] {
  for (let i = 0; i < newArr.length; i++) {
    const nv = newArr[i];
    const ov = oldArr[i];
    if (isMap(nv) && isMap(ov)) newArr[i] = cleanReturnedObj(nv, ov);
    else if (Array.isArray(nv) && Array.isArray(ov)) newArr[i] = cleanReturnedArray(nv, ov);
  }
  return newArr;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
