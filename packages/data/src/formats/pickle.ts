/**
 * Reads the NDM repository's `idx2u.pickle` (a Python list of user-id strings, index order) so that a
 * downloaded copy becomes the `idx2u.tsv` our loaders read. A deliberately small unpickler: it
 * understands the opcodes a list or dict of strings and integers uses in protocols 2 to 5 (Python 2
 * `str` as well as Python 3 `str`), and refuses anything else (no object construction, so it cannot
 * run code).
 */
import { DataFormatError } from '@cascade-lab/core';

type Value = string | number | Value[] | Map<string | number, Value> | null | boolean;
const MARK = Symbol('mark');

/** Decodes a pickle holding strings, integers, lists, tuples and dicts. */
export function unpickle(bytes: Uint8Array, file: string): Value {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: (Value | typeof MARK)[] = [];
  const memo = new Map<number, Value>();
  let pos = 0;
  const fail = (problem: string): never => {
    throw new DataFormatError({ file }, `pickle byte ${pos}: ${problem}`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) fail('unexpected end of data (truncated file?)');
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u32 = () => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length too large');
    return Number(v);
  };
  const utf8 = (n: number) => {
    need(n);
    const s = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const latin1 = (n: number) => {
    need(n);
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const popMark = (): Value[] => {
    const items: Value[] = [];
    for (;;) {
      if (stack.length === 0) fail('MARK missing');
      const v = stack.pop()!;
      if (v === MARK) return items.reverse();
      items.push(v);
    }
  };
  const top = (): Value => {
    if (stack.length === 0) fail('empty stack');
    const v = stack[stack.length - 1];
    if (v === MARK) fail('unexpected MARK');
    return v as Value;
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('unsupported pickle protocol');
        break;
      case 0x95: // FRAME (length of the next frame; the data follows inline)
        u64();
        break;
      case 0x2e: {
        // STOP
        if (stack.length !== 1 || stack[0] === MARK) fail('malformed pickle (stack not a single value at STOP)');
        return stack[0] as Value;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x61: {
        // APPEND
        const v = stack.pop() as Value;
        const list = top();
        if (!Array.isArray(list)) fail('APPEND to a non-list');
        (list as Value[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS to a non-list');
        (list as Value[]).push(...items);
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = op - 0x84;
        if (stack.length < n) fail('stack underflow');
        stack.push(stack.splice(stack.length - n, n) as Value[]);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = stack.pop() as Value;
        const k = stack.pop() as Value;
        const d = top();
        if (!(d instanceof Map) || (typeof k !== 'string' && typeof k !== 'number')) fail('SETITEM needs a dict and a string or integer key');
        (d as Map<string | number, Value>).set(k as string | number, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = top();
        if (!(d instanceof Map) || items.length % 2 !== 0) fail('SETITEMS needs a dict and key/value pairs');
        for (let i = 0; i < items.length; i += 2) {
          const k = items[i];
          if (typeof k !== 'string' && typeof k !== 'number') fail('dict keys must be strings or integers');
          (d as Map<string | number, Value>).set(k as string | number, items[i + 1]);
        }
        break;
      }
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        stack.push(latin1(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1(u32()));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: {
        // BININT2
        need(2);
        stack.push(view.getUint16(pos, true));
        pos += 2;
        break;
      }
      case 0x4a: {
        // BININT
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo entry ${k} missing`);
        stack.push(memo.get(k)!);
        break;
      }
      default:
        pos--;
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')} (only lists/dicts of strings and integers are read)`);
    }
  }
}

/**
 * The user list of an NDM `idx2u.pickle`: must be a list of strings starting `<blank>`, `</s>`.
 * Returns the real users' raw ids in index order (index 2 first).
 */
export function idx2uFromPickle(bytes: Uint8Array, file: string): string[] {
  const v = unpickle(bytes, file);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new DataFormatError({ file }, 'expected a pickled list of user-id strings');
  const ids = v as string[];
  if (ids[0] !== '<blank>' || ids[1] !== '</s>') throw new DataFormatError({ file }, 'the user list must start with "<blank>", "</s>"');
  return ids.slice(2);
}
