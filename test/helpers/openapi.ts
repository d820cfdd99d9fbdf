import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Checks an answer against the schema the OpenAPI document gives for it (path, method, status,
 * content type), with the document's own components: the document is the contract, the answer
 * must keep it.
 */
export function responseChecker(document: Record<string, unknown>) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');
  const paths = document.paths as Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
  const rewrite = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));

  return function check(path: string, method: string, status: number, type: string, body: unknown): void {
    const response = paths[path]?.[method]?.responses[String(status)];
    if (!response) throw new Error(`the document has no ${status} answer for ${method.toUpperCase()} ${path}`);
    const schema = response.content?.[type]?.schema;
    if (!schema) throw new Error(`the document has no ${type} body for ${status} of ${method.toUpperCase()} ${path}`);
    const validate = ajv.compile(rewrite(schema) as object);
    if (!validate(body))
      throw new Error(`${method.toUpperCase()} ${path} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
  };
}
