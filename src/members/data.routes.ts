import { Router, type Response } from 'express';
import { requireMember } from '../auth/passport.js';
import type { ServiceContext } from '../context.js';
import { memberWords } from '../shared/words.js';
import {
  checkDataLink,
  DATA_DOWNLOAD_MINUTES,
  DATA_LINK_MINUTES,
  downloadMemberData,
  openMemberData,
  requestDataLink,
} from './data.service.js';

const TITLE = 'Your data';

/** The data page and file hold everything about the member: no browser or proxy may keep a copy. */
function noStore(res: Response): void {
  res.set('Cache-Control', 'no-store');
}

/**
 * "My data" (C5, C2). Signed in, the member asks for a single-use link by e-mail; the link's GET
 * shows a button and changes nothing, its POST shows the data. The download has its own path
 * under /l/<purpose>/<token> so it is CSRF-exempt like the page: both work with cookies refused (C9).
 */
export function dataRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/account/data', requireMember, (_req, res) =>
    res.render('account/data-request', { title: TITLE, minutes: DATA_LINK_MINUTES }),
  );

  router.post('/account/data', requireMember, async (req, res) => {
    const sentTo = await requestDataLink(svc, req.user!.id);
    res.render('account/data-sent', { title: 'Check your e-mail', minutes: DATA_LINK_MINUTES, sentTo });
  });

  router.get('/l/data/:token', async (req, res) => {
    await checkDataLink(svc, req.params.token);
    res.render('account/data-link', { title: TITLE, action: `/l/data/${req.params.token}` });
  });

  router.post('/l/data/:token', async (req, res) => {
    const { data, downloadToken } = await openMemberData(svc, req.params.token);
    noStore(res);
    res.render('account/data', {
      title: TITLE,
      data,
      words: memberWords,
      downloadAction: `/l/data-json/${downloadToken}`,
      downloadMinutes: DATA_DOWNLOAD_MINUTES,
    });
  });

  router.post('/l/data-json/:token', async (req, res) => {
    const data = await downloadMemberData(svc, req.params.token);
    noStore(res);
    res.attachment('assent-my-data.json');
    res.type('application/json').send(JSON.stringify(data, null, 2));
  });

  return router;
}
