// Express 4 (installed under the alias `express4`, next to Express 5), given `.websocket()` as
// importing `wsgate/express` gives it to the `express` it resolves.
import express5 from 'express';
import express4 from 'express4';
import { installRoutes } from '../../adapters/express/routes.js';

installRoutes(express4);

export { express4 };

/** Both supported majors of Express, by name and oldest first, to run the same check on each. */
export const expressMajors = [
  ['Express 4', express4 as unknown as typeof express5],
  ['Express 5', express5],
] as const;
