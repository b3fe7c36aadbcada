/*
 * The control messages beside the entry envelope, each signed by the node it is from (see
 * control-codec.ts): a node's status, its quorum acks, its repair requests. None carries payment
 * data; each is small JSON with a version, validated strictly.
 */
export { type QuorumAck, openAck, sealAck } from './ack-message.js';
export { type RepairRequest, type VerifiedRepairRequest, openRepairRequest, sealRepairRequest } from './repair-request-message.js';
export { type NodeStatus, openStatus, sealStatus } from './status-message.js';
export { MAX_CONTROL_BYTES, type OpenedControl } from './control-codec.js';
