import { z } from 'zod';

export interface HyperparameterDoc {
  key: string;
  type: string;
  default: unknown;
  description?: string;
}

/**
 * Flattens a plugin's zod hyperparameter schema into one row per leaf: dot key, type, default (the
 * value parsing `{}` yields) and the `.describe()` text. Uses zod's JSON-schema export so every zod
 * construct a plugin may use is covered.
 */
export function describeSchema(schema: z.ZodType): HyperparameterDoc[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  let defaults: unknown = {};
  try {
    defaults = schema.parse({});
  } catch {
    defaults = {};
  }
  const rows: HyperparameterDoc[] = [];
  walk(json, '', defaults, rows);
  return rows;
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  description?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  default?: unknown;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join('|');
  if (s.anyOf) return s.anyOf.map(typeOf).join('|');
  if (s.type === 'array' && s.items) return `${typeOf(s.items)}[]`;
  return Array.isArray(s.type) ? s.type.join('|') : (s.type ?? 'any');
}

function walk(s: JsonSchema, prefix: string, defaults: unknown, rows: HyperparameterDoc[]): void {
  if (s.type === 'object' && s.properties) {
    for (const [k, child] of Object.entries(s.properties)) {
      const d = defaults && typeof defaults === 'object' ? (defaults as Record<string, unknown>)[k] : undefined;
      walk(child, prefix ? `${prefix}.${k}` : k, d, rows);
    }
    return;
  }
  rows.push({ key: prefix, type: typeOf(s), default: defaults ?? s.default, description: s.description });
}
