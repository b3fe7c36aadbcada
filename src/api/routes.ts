import type { FastifyInstance } from 'fastify';
import type { LaneService } from '../lanes/lane-service.js';
import type { Outcome } from '../standin/index.js';
import { sendError } from './errors.js';
import { validate } from './problems.js';
import { createPaymentBody, paymentIdParam, refundBody, voidBody } from './schemas.js';

function followUpResource(paymentId: string, kind: 'void' | 'refund', outcome: Outcome) {
  return {
    id: outcome.entry?.idempotencyKey ?? null,
    kind,
    paymentId,
    amountMinor: outcome.entry?.amountMinor ?? null,
    currency: outcome.entry?.currency ?? null,
    decision: outcome.decision,
    journalSeq: outcome.entry?.seq ?? null,
  };
}

/** The POS payment API. Every handler answers with the resource or with `{ error: { code, message, problems? } }`. */
export function registerRoutes(app: FastifyInstance, lanes: LaneService): void {
  app.post('/v1/payments', async (request, reply) => {
    try {
      const body = validate(createPaymentBody, request.body, 'payment request');
      const { payment, replayed } = await lanes.pay(body);
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(replayed ? 200 : 201).send(payment);
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get<{ Params: { id: string } }>('/v1/payments/:id', async (request, reply) => {
    try {
      const id = validate(paymentIdParam, request.params.id, 'payment id');
      return reply.send(await lanes.get(id));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.post<{ Params: { id: string } }>('/v1/payments/:id/cancel', async (request, reply) => {
    try {
      const id = validate(paymentIdParam, request.params.id, 'payment id');
      return reply.send(await lanes.cancel(id));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.post<{ Params: { id: string } }>('/v1/payments/:id/void', async (request, reply) => {
    try {
      const id = validate(paymentIdParam, request.params.id, 'payment id');
      const body = validate(voidBody, request.body, 'void request');
      const outcome = await lanes.followUp(id, 'void', body.idempotencyKey);
      if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(outcome.replayed ? 200 : 201).send(followUpResource(id, 'void', outcome));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.post<{ Params: { id: string } }>('/v1/payments/:id/refunds', async (request, reply) => {
    try {
      const id = validate(paymentIdParam, request.params.id, 'payment id');
      const body = validate(refundBody, request.body, 'refund request');
      const outcome = await lanes.followUp(id, 'refund', body.idempotencyKey, body.amountMinor);
      if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(outcome.replayed ? 200 : 201).send(followUpResource(id, 'refund', outcome));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.get('/v1/lanes', async (_request, reply) => {
    try {
      return reply.send({ lanes: await lanes.lanes() });
    } catch (error) {
      return sendError(reply, error);
    }
  });
}
