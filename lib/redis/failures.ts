import {
  AbortError,
  ClientOfflineError,
  ErrorReply,
  MaxCommandRedirectionsError,
  RootNodesUnavailableError,
} from 'redis';

/**
 * What a failed command tells about its fate, which decides whether it may be sent again:
 * - `unsent`: it never reached Redis, or Redis refused to run it because the cluster is
 *   changing (a retry cannot duplicate it);
 * - `lost`: the connection failed with the command written or about to be: Redis may have
 *   run it (only an idempotent command may be sent again);
 * - `refused`: Redis answered with an error (sending it again would get the same answer).
 */
export type Failure = 'unsent' | 'lost' | 'refused';

/** Error replies of a Redis that is not serving the command's slot right now. */
const TRANSIENT_REPLY = /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|MOVED|ASK) /;

export function classify(error: unknown): Failure {
  if (error instanceof ErrorReply)
    return TRANSIENT_REPLY.test(error.message) ? 'unsent' : 'refused';
  // node-redis rejects these before queuing the command (no offline queue, no node for the
  // slot, redirections exhausted) or withdraws it unwritten (an aborted command).
  if (
    error instanceof ClientOfflineError ||
    error instanceof RootNodesUnavailableError ||
    error instanceof MaxCommandRedirectionsError ||
    error instanceof AbortError
  ) {
    return 'unsent';
  }
  return 'lost';
}

/** The error a call gets when Redis could not be reached in time. */
export function unreachable(cause: unknown): Error {
  return new Error('wsgate: Redis is unreachable', { cause });
}
