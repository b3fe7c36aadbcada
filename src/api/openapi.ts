import { z } from 'zod';
import { createPaymentBody, errorResource, followUpResource, paymentResource, refundBody, voidBody } from './schemas.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) } });
const error = (description: string) => ({ description, content: json(errorResource) });
const idParam = [{ name: 'id', in: 'path', required: true, description: 'the payment id: the idempotency key the POS chose', schema: { type: 'string' } }];

/** The published OpenAPI 3.1 description of the POS API, generated from the schemas the handlers validate with. */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'edgepay POS payment API',
      version,
      description:
        'Local API of one edgepay node (loopback or Unix socket). Amounts are integer minor units with an ISO 4217 currency. ' +
        'The POS chooses each payment\'s idempotency key; repeating a request with the same key returns the original answer (200 + Idempotent-Replayed: true).',
    },
    paths: {
      '/v1/payments': {
        post: {
          summary: 'Take a payment on a lane: start the reader, wait for the card, authorize (durably), show the result, answer',
          requestBody: { required: true, content: json(createPaymentBody) },
          responses: {
            '201': { description: 'the payment, decided (approved/declined) or ended without a decision (cancelled/failed)', content: json(paymentResource) },
            '200': { description: 'a repeated request: the original payment', content: json(paymentResource) },
            '400': error('bad input: every bad field is named in problems'),
            '409': error('the lane is busy with another payment, or the idempotency key was used for a different payment'),
            '503': error('the lane has no working reader, or the node is stopping or overloaded'),
          },
        },
      },
      '/v1/payments/{id}': {
        get: {
          summary: 'A payment by id, also after a restart (from the journal)',
          parameters: idParam,
          responses: { '200': { description: 'the payment', content: json(paymentResource) }, '404': error('no such payment') },
        },
      },
      '/v1/payments/{id}/cancel': {
        post: {
          summary: 'Cancel a payment still waiting for its card',
          parameters: idParam,
          responses: {
            '200': { description: 'the cancelled payment', content: json(paymentResource) },
            '404': error('no such payment'),
            '409': error('the payment is past the card stage (void an approved payment instead)'),
          },
        },
      },
      '/v1/payments/{id}/void': {
        post: {
          summary: 'Void (reverse) an approved payment in full',
          parameters: idParam,
          requestBody: { required: true, content: json(voidBody) },
          responses: {
            '201': { description: 'the void and its decision', content: json(followUpResource) },
            '200': { description: 'a repeated request: the original void', content: json(followUpResource) },
            '400': error('bad input'),
            '404': error('no such payment'),
            '409': error('the idempotency key was used for something else'),
          },
        },
      },
      '/v1/payments/{id}/refunds': {
        post: {
          summary: 'Refund part or all of an approved payment',
          parameters: idParam,
          requestBody: { required: true, content: json(refundBody) },
          responses: {
            '201': { description: 'the refund and its decision', content: json(followUpResource) },
            '200': { description: 'a repeated request: the original refund', content: json(followUpResource) },
            '400': error('bad input'),
            '404': error('no such payment'),
            '409': error('the idempotency key was used for something else'),
          },
        },
      },
      '/v1/lanes': {
        get: { summary: 'The lanes of this node and their readers', responses: { '200': { description: 'lanes with reader status' } } },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
