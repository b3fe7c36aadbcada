import { EdgepayError } from '../errors.js';

export function nodeExists(nodeId: string, conflict: string): EdgepayError {
  return new EdgepayError('EDGEPAY_CENTRE_NODE_EXISTS', conflict, { nodeId });
}

export function nodeNotRegistered(nodeId: string): EdgepayError {
  return new EdgepayError('EDGEPAY_NOT_FOUND', `node ${nodeId} is not registered at the centre`, { nodeId });
}
