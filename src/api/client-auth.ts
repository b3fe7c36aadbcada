import type { ApiConfig } from '../config/node-config.js';
import { readApiToken } from './api-token.js';

/**
 * The headers a client of a node's POS API sends with every request: the bearer token from the
 * node's own api.tokenFile on TCP (checked as the node checks it), none on a Unix socket, where
 * the socket's mode admits the caller.
 */
export function apiAuthHeaders(api: ApiConfig | undefined): Record<string, string> {
  if (api === undefined || 'socket' in api) return {};
  return { authorization: `Bearer ${readApiToken(api.tokenFile)}` };
}
