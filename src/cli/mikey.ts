/**
 * `mcptt-sdk mikey inspect <base64|hex>` and `mcptt-sdk mikey create …`: the MIKEY tools an
 * operator reaches for when two implementations disagree. `inspect` decodes every payload;
 * `create` builds a signed GMK/PCK/CSK distribution from a key set file.
 */
import { readFileSync } from 'node:fs';
import { decodeBase64Strict, decodeIMessage, describeIMessage, encodeBase64 } from '../mikey.js';
import { createKeyDistribution, keyProfile, newKeyId, type DistributedKeyKind } from '../keys/index.js';
import { identityOfKeySet, isKeySet, kmsOfKeySet, timeInPeriodOfKeySet } from '../conformance/key-sets.js';
import type { Json, JsonObject } from '../conformance/checks.js';
import { hexToBytes } from '../util/bytes.js';

export const MIKEY_USAGE = `  mcptt-sdk mikey inspect <base64|hex>          decode an I_MESSAGE and print every payload
  mcptt-sdk mikey create --kind gmk|pck|csk --keys <file.json> --from <uri> --to <uri>
        [--key <hex>] [--key-id <hex>] [--rand <hex>] [--group <id>] [--time <ISO date>]
        [--hide-identities] [--profile ts33180|ts33179-v13]
                                                 print a signed I_MESSAGE in base64`;

function parseMessage(arg: string): Uint8Array {
  const s = arg.trim();
  return /^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0 ? hexToBytes(s) : decodeBase64Strict(s);
}

function flags(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new RangeError(`unexpected argument ${a}`);
    const next = args[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), 'true');
    else {
      out.set(a.slice(2), next);
      i++;
    }
  }
  return out;
}

/** Finds the key set holding both parties: the file is a set, or any JSON containing sets. */
function findKeySet(doc: Json, uris: readonly string[]): JsonObject | undefined {
  const stack: Json[] = [doc];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (isKeySet(n) && uris.every((u) => (n.users as JsonObject[]).some((x) => x.uri === u))) return n;
    if (n !== null && typeof n === 'object') stack.push(...(Array.isArray(n) ? n : Object.values(n)));
  }
  return undefined;
}

export async function mikeyCommand(args: readonly string[], print: (line: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'inspect') {
    if (rest.length !== 1) throw new RangeError('mikey inspect takes one message (base64 or hex)');
    for (const line of describeIMessage(decodeIMessage(parseMessage(rest[0]!)))) print(line);
    return 0;
  }
  if (sub === 'create') {
    const f = flags(rest);
    const need = (k: string): string => {
      const v = f.get(k);
      if (v === undefined) throw new RangeError(`mikey create needs --${k}`);
      return v;
    };
    const kind = need('kind').toUpperCase() as DistributedKeyKind;
    if (!['GMK', 'PCK', 'CSK'].includes(kind)) throw new RangeError('--kind is gmk, pck or csk');
    const fromUri = need('from');
    const toUri = need('to');
    const set = findKeySet(JSON.parse(readFileSync(need('keys'), 'utf8')) as Json, [fromUri, toUri]);
    if (set === undefined) throw new RangeError('no key set in the file holds keys for both --from and --to');
    const from = identityOfKeySet(set, fromUri)!;
    const profileName = (f.get('profile') ?? 'ts33180') as 'ts33180' | 'ts33179-v13';
    const profile = keyProfile(profileName);
    const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
    const time = f.has('time') ? Date.parse(f.get('time')!) : timeInPeriodOfKeySet(set, fromUri);
    if (!Number.isFinite(time)) throw new RangeError('--time is not a date');
    const group = f.get('group');
    const message = await createKeyDistribution({
      kind,
      key: f.has('key') ? hexToBytes(f.get('key')!) : random(16),
      keyId: f.has('key-id') ? hexToBytes(f.get('key-id')!) : newKeyId(profile.defaultTag[kind]!, random),
      rand: f.has('rand') ? hexToBytes(f.get('rand')!) : random(16),
      from,
      to: { uri: toUri, kms: kmsOfKeySet(set) },
      time,
      profile: profileName,
      hideIdentities: f.get('hide-identities') === 'true',
      ...(group !== undefined ? { parameters: { groupIds: [group] } } : {}),
    });
    print(encodeBase64(message));
    return 0;
  }
  throw new RangeError('mikey takes inspect or create');
}
