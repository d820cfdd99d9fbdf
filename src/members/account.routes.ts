import { Router } from 'express';
import { z } from 'zod';
import { hashPassword } from '../auth/passwords.js';
import { requireMember } from '../auth/passport.js';
import { inTransaction } from '../db.js';
import { memberMessageEmail } from '../mail/member-message.js';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { secretText } from '../shared/http/text.js';
import { queueMail, type ServiceContext } from '../shared/service-context.js';
import { findActiveMember, updateMember } from './members.repository.js';

const SetPassword = z
  .object({
    password: secretText().min(10, 'Use at least 10 characters.').max(200, 'Use at most 200 characters.'),
    confirm: z.string(),
  })
  .refine((v) => v.password === v.confirm, { message: 'The two passwords are not the same.', path: ['confirm'] });

export function accountRouter(svc: ServiceContext): Router {
  const router = Router();
  router.use('/account', requireMember);

  router.get('/account', async (req, res) => {
    const member = await findActiveMember(svc.db, req.user!.id);
    if (!member) throw new NotFoundError();
    res.render('account/index', { title: 'Your account', member });
  });

  router.get('/account/password', (_req, res) => res.render('account/password', { title: 'Set a password' }));

  router.post('/account/password', async (req, res) => {
    formView(res, 'account/password', { title: 'Set a password' });
    const { password } = parseForm(SetPassword, req.body);
    const memberId = req.user!.id;
    const passwordHash = await hashPassword(password);
    await inTransaction(svc.db, async (trx) => {
      const member = await findActiveMember(trx, memberId);
      if (!member?.email) throw new NotFoundError();
      await updateMember(trx, memberId, { password_hash: passwordHash });
      await queueMail(
        trx,
        svc,
        memberMessageEmail(svc.mail, {
          kind: 'password_set',
          to: member.email,
          memberId,
          subject: `${svc.mail.orgName}: your password was set`,
          greeting: `Dear ${member.name ?? 'member'},`,
          paragraphs: ['A password was just set for signing in to your preferences. You can still sign in with a link by e-mail.'],
          after: [`If this was not you, ask for a sign-in link, set a new password, and tell us at ${svc.mail.privacyContact}.`],
          manageUrl: svc.links.manage(memberId),
        }),
      );
    });
    res.render('account/index', {
      title: 'Your account',
      member: await findActiveMember(svc.db, memberId),
      notice: 'Your password is set.',
    });
  });

  return router;
}
