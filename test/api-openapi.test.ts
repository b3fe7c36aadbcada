import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createPaymentBody, refundBody, voidBody } from '../src/api/schemas.js';
import { knownCurrencies } from '../src/money/currency.js';
import { MAX_AMOUNT_MINOR } from '../src/money/limits.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { LOOPBACK_API, newNodeConfigIn } from './support/node.js';

/*
 * The OpenAPI document the node serves: valid OpenAPI 3.1 by an independent validator, stating the
 * bounds the handlers enforce, and accepting exactly the bodies the handlers accept (a property
 * test against ajv, so the document and the server cannot drift apart).
 */

let dir: string;
let node: NodeRuntime;
let doc: any;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgepay-api-openapi-'));
  node = await NodeRuntime.start({ config: await newNodeConfigIn(dir, { api: LOOPBACK_API }), registry: new Registry() });
  const response = await fetch(`${node.apiAddress}/openapi.json`);
  expect(response.status).toBe(200);
  doc = await response.json();
});

afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const requestSchema = (path: string) => doc.paths[path].post.requestBody.content['application/json'].schema;
const responseSchema = (path: string, method: string, status: string) => doc.paths[path][method].responses[status].content['application/json'].schema;

/** Every object under `value` with a `type` or `$ref` beside JSON Schema keywords: the document's schemas. */
function schemasIn(value: unknown, found: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (typeof value !== 'object' || value === null) return found;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'schema' && typeof child === 'object' && child !== null) found.push(child as Record<string, unknown>);
    else schemasIn(child, found);
  }
  return found;
}

describe('the served OpenAPI document', () => {
  it('is valid OpenAPI 3.1 by an independent validator', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('holds only schemas a JSON Schema 2020-12 validator compiles in strict mode', () => {
    const ajv = new Ajv2020({ strict: true, validateFormats: false });
    ajv.addSchema(doc.components.schemas.Error, '#/components/schemas/Error');
    const schemas = schemasIn(doc.paths).filter((schema) => !('$ref' in schema));
    expect(schemas.length).toBeGreaterThan(10);
    for (const schema of schemas) expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('states the bounds of every request field', () => {
    const payment = requestSchema('/v1/payments');
    expect(payment.additionalProperties).toBe(false);
    expect(payment.properties.amountMinor).toEqual({ type: 'integer', minimum: 1, maximum: MAX_AMOUNT_MINOR });
    expect(MAX_AMOUNT_MINOR).toBe(999_999_999_999);
    expect(payment.properties.currency).toEqual({ type: 'string', enum: [...knownCurrencies()] });
    expect(payment.properties.idempotencyKey).toMatchObject({ type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' });
    expect(payment.properties.lane).toMatchObject({ type: 'string', minLength: 1, maxLength: 32, pattern: expect.any(String) });
    expect(payment.properties.reference).toMatchObject({ type: 'string', minLength: 1, maxLength: 128, pattern: expect.any(String) });
    const refund = requestSchema('/v1/payments/{id}/refunds');
    expect(refund.properties.amountMinor).toEqual({ type: 'integer', minimum: 1, maximum: MAX_AMOUNT_MINOR });
    expect(refund.required.sort()).toEqual(['amountMinor', 'idempotencyKey']);
    const id = doc.paths['/v1/payments/{id}'].get.parameters[0];
    expect(id).toMatchObject({ name: 'id', in: 'path', schema: { type: 'string', maxLength: 128, pattern: '^[\\x21-\\x7e]+$' } });
  });

  it('states the body limit, the 413 and 415 answers and the error shape', () => {
    expect(doc['x-edgepay-limits']).toEqual({ bodyLimitBytes: 16_384, headersLimitBytes: 16_384, requestTimeoutMs: 10_000 });
    expect(doc.info.description).toContain('at most 16384 bytes (16 KiB)');
    for (const path of ['/v1/payments', '/v1/payments/{id}/void', '/v1/payments/{id}/refunds']) {
      const operation = doc.paths[path].post;
      expect(operation.requestBody.description).toContain('16384 bytes (16 KiB)');
      expect(operation.responses['413']).toEqual({ $ref: '#/components/responses/BodyTooLarge' });
      expect(operation.responses['415']).toEqual({ $ref: '#/components/responses/UnsupportedMediaType' });
      expect(operation.responses['400'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
    expect(doc.components.responses.BodyTooLarge.description).toMatch(/^the body is larger than 16384 bytes \(16 KiB\)\. Codes: EDGEPAY_BODY_TOO_LARGE/);
    expect(doc.components.responses.UnsupportedMediaType.description).toContain('application/json');
    expect(doc.components.responses.HeadersTooLarge.description).toContain('EDGEPAY_HEADERS_TOO_LARGE');
    const error = doc.components.schemas.Error;
    expect(error.required).toEqual(['error']);
    expect(error.properties.error.required).toEqual(['code', 'message']);
    const codes: string[] = error.properties.error.properties.code.enum;
    for (const code of [
      'EDGEPAY_BAD_HTTP',
      'EDGEPAY_HEADERS_TOO_LARGE',
      'EDGEPAY_REQUEST_TIMEOUT',
      'EDGEPAY_BODY_TOO_LARGE',
      'EDGEPAY_UNSUPPORTED_MEDIA_TYPE',
      'EDGEPAY_BAD_JSON',
      'EDGEPAY_FORBIDDEN_JSON_KEY',
      'EDGEPAY_BAD_INPUT',
    ]) {
      expect(codes).toContain(code);
      expect(doc.info.description).toContain(code);
    }
    const problem = error.properties.error.properties.problems.items;
    expect(Object.keys(problem.properties).sort()).toEqual(['message', 'path', 'received', 'value']);
  });

  it('states the bearer token on TCP: the scheme, a 401 on every /v1 operation, the document itself public', () => {
    expect(doc.components.securitySchemes).toEqual({ bearerToken: { type: 'http', scheme: 'bearer', description: expect.stringContaining('api.tokenFile') } });
    expect(doc.security).toEqual([{ bearerToken: [] }]);
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        if (path === '/openapi.json') {
          expect(operation.security, `${method} ${path}`).toEqual([]);
          expect(operation.responses['401']).toBeUndefined();
        } else {
          expect(operation.security, `${method} ${path}`).toBeUndefined();
          expect(operation.responses['401'], `${method} ${path}`).toEqual({ $ref: '#/components/responses/Unauthorized' });
        }
      }
    }
    const unauthorized = doc.components.responses.Unauthorized;
    expect(unauthorized.description).toMatch(/Codes: EDGEPAY_API_UNAUTHORIZED: /);
    expect(unauthorized.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    expect(unauthorized.headers['WWW-Authenticate'].description).toMatch(/^Bearer realm=/);
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toContain('EDGEPAY_API_UNAUTHORIZED');
    expect(doc.info.description).toContain('Authorization: Bearer <token>');
  });

  it('describes responses truthfully: integers and enums', () => {
    const payment = responseSchema('/v1/payments', 'post', '201');
    expect(payment.properties.amountMinor).toMatchObject({ type: 'integer', minimum: 1 });
    expect(payment.properties.currency.enum).toEqual([...knownCurrencies()]);
    expect(payment.properties.status.enum).toEqual(['waiting_for_card', 'authorizing', 'approved', 'declined', 'cancelled', 'failed']);
    const followUp = responseSchema('/v1/payments/{id}/refunds', 'post', '201');
    expect(followUp.properties.amountMinor.anyOf).toContainEqual(expect.objectContaining({ type: 'integer', minimum: 1 }));
    expect(followUp.properties.decision.properties.code.enum).toContain('Y3');
  });
});

describe('the document and the handlers accept the same bodies', () => {
  // Each field: mostly valid values (so whole bodies are often valid), values at and past every
  // bound, and any JSON at all.
  const field = (valid: fc.Arbitrary<unknown>, edges: fc.Arbitrary<unknown>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 2, arbitrary: edges }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
  const tricky = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        'a b',
        '-lane',
        'k'.repeat(128),
        'k'.repeat(129),
        'l'.repeat(32),
        'l'.repeat(33),
        'é'.repeat(128),
        'é'.repeat(129),
        '😀'.repeat(64),
        '😀'.repeat(65),
        '😀'.repeat(128),
        'tab\there',
        '\u0085',
        '\ud800',
        'r\u00a0x',
        '\u007f',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 140 }) },
    // Long strings of characters on both sides of each pattern's edges, some two UTF-16 units long.
    { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('a', 'a', 'a', '😀', '~', ' ', '\u00a0', '\uffff', '\ud7ff', '\ue000', '.', '-', '\u0001', '\ud800'), minLength: 60, maxLength: 135 }) },
  );
  const amount = field(
    fc.integer({ min: 1, max: MAX_AMOUNT_MINOR }),
    fc.oneof(fc.constantFrom(0, 1, -1, 1.5, 12.5, MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR + 1, 1e12, 2 ** 53, 2 ** 53 + 2, -0, 1e21, Number.MAX_VALUE, '1250'), fc.integer(), fc.double({ noNaN: true })),
  );
  const currency = field(fc.constantFrom(...knownCurrencies()), fc.oneof(fc.constantFrom('eur', 'EURO', 'XXX', '', 'toString', '__proto__'), fc.string({ maxLength: 4 })));
  const key = field(fc.stringMatching(/^[\x21-\x7e]{1,128}$/), tricky);
  const lane = field(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/), fc.oneof(tricky, fc.stringMatching(/^[A-Za-z0-9._-]{0,34}$/)));
  const reference = field(fc.string({ minLength: 1, maxLength: 128 }), tricky);
  /** `arbitrary`'s value one time in six, else null. */
  const rarely = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
  /** A body of the given fields, now and then with one missing or one unknown, or not an object at all. */
  const body = (shape: Record<string, fc.Arbitrary<unknown>>) =>
    fc.oneof(
      {
        weight: 12,
        arbitrary: fc.tuple(fc.record(shape), rarely(fc.constantFrom(...Object.keys(shape))), rarely(fc.tuple(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })))).map(([fields, missing, extra]) => {
          const made: Record<string, unknown> = { ...fields };
          if (missing !== null) delete made[missing];
          if (extra !== null) made[extra[0]] = extra[1];
          return made;
        }),
      },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    );

  const cases: [string, string, z.ZodType, fc.Arbitrary<unknown>][] = [
    ['payment', '/v1/payments', createPaymentBody, body({ lane, amountMinor: amount, currency, reference, idempotencyKey: key })],
    ['void', '/v1/payments/{id}/void', voidBody, body({ idempotencyKey: key })],
    ['refund', '/v1/payments/{id}/refunds', refundBody, body({ idempotencyKey: key, amountMinor: amount })],
  ];

  for (const [name, path, schema, bodies] of cases) {
    it(`${name}: zod accepts a body exactly when the served JSON schema does`, () => {
      const validate = new Ajv2020({ strict: true }).compile(requestSchema(path));
      let accepted = 0;
      fc.assert(
        fc.property(bodies, (generated) => {
          // What the handler sees: the body after a round trip through JSON, as the parser makes it.
          const text = JSON.stringify(generated);
          if (text === undefined) return;
          const parsed: unknown = JSON.parse(text);
          const byZod = schema.safeParse(parsed).success;
          const byDocument = validate(parsed);
          if (byZod) accepted += 1;
          expect({ body: text, byDocument }).toEqual({ body: text, byDocument: byZod });
        }),
        { numRuns: 10_000 },
      );
      // The property means little unless both verdicts were seen often.
      expect(accepted).toBeGreaterThan(500);
    });
  }
});
