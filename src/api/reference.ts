/**
 * The reference page's data, read from the OpenAPI document itself (not from the code), so the
 * page shows exactly what the document promises. Rendered server-side: no script needed.
 */
type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});

/** A schema in a few words: "Member", "array of Topic", "string (uuid)", "integer | "all"". */
export function typeOf(schema: unknown): string {
  const s = obj(schema);
  if (typeof s.$ref === 'string') return s.$ref.split('/').pop()!;
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return ((s.anyOf ?? s.oneOf) as unknown[]).map(typeOf).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  const t = Array.isArray(s.type) ? (s.type as string[]).join(' | ') : String(s.type ?? 'any');
  if (t === 'array') return `array of ${typeOf(s.items)}`;
  return s.format ? `${t} (${String(s.format)})` : t;
}

export interface Field {
  name: string;
  type: string;
  required: boolean;
  description: string;
}

function fieldsOf(schema: unknown): Field[] {
  const s = obj(schema);
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  return Object.entries(obj(s.properties)).map(([name, p]) => ({
    name,
    type: typeOf(p),
    required: required.has(name),
    description: String(obj(p).description ?? ''),
  }));
}

export function referencePage(document: object, problems: Record<string, string>) {
  const doc = obj(document);
  const info = obj(doc.info);
  const operations = Object.entries(obj(doc.paths)).flatMap(([path, item]) =>
    Object.entries(obj(item)).map(([method, o]) => {
      const op = obj(o);
      const body = obj(obj(obj(obj(op.requestBody).content)['application/json']).schema);
      return {
        anchor: `${method}-${path.replace(/[^a-z0-9]+/gi, '-')}`.replace(/-+$/, ''),
        method: method.toUpperCase(),
        path,
        summary: String(op.summary ?? ''),
        description: String(op.description ?? ''),
        scope: String(op['x-scope'] ?? ''),
        parameters: (Array.isArray(op.parameters) ? (op.parameters as unknown[]) : []).map((p) => ({
          name: String(obj(p).name),
          in: String(obj(p).in),
          type: typeOf(obj(p).schema),
          required: obj(p).required === true,
          description: String(obj(p).description ?? obj(obj(p).schema).description ?? ''),
        })),
        body: Object.keys(body).length ? typeOf(body) : null,
        responses: Object.entries(obj(op.responses)).map(([status, r]) => ({
          status,
          description: String(obj(r).description ?? ''),
          content: Object.entries(obj(obj(r).content)).map(([type, c]) => ({ type, schema: typeOf(obj(c).schema) })),
        })),
      };
    }),
  );
  const schemas = Object.entries(obj(obj(doc.components).schemas)).map(([name, s]) => ({
    name,
    description: String(obj(s).description ?? ''),
    fields: fieldsOf(s),
  }));
  return {
    title: String(info.title ?? 'API reference'),
    intro: String(info.description ?? ''),
    server: String(obj((doc.servers as unknown[] | undefined)?.[0]).url ?? ''),
    operations,
    schemas,
    problems: Object.entries(problems).map(([code, text]) => ({ code, text })),
  };
}
