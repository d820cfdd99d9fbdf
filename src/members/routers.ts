import type { Router } from 'express';
import { authRouter } from '../auth/auth.routes.js';
import { preferencesRouter } from '../consent/preferences.routes.js';
import { unsubscribeRouter } from '../consent/unsubscribe.routes.js';
import { removalRouter } from '../removal/removal.routes.js';
import type { ServiceContext } from '../context.js';
import { accountRouter } from './account.routes.js';
import { dataRouter } from './data.routes.js';
import { detailsRouter } from './details.routes.js';
import { joinRouter } from './join.routes.js';

/** Every router of the member side, in mounting order; one list shows them all. */
export function memberRouters(svc: ServiceContext): Router[] {
  return [
    authRouter(svc),
    accountRouter(svc),
    dataRouter(svc),
    detailsRouter(svc),
    joinRouter(svc),
    preferencesRouter(svc),
    unsubscribeRouter(svc),
    removalRouter(svc),
  ];
}
