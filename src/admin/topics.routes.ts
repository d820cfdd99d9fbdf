import { Router, type Request } from 'express';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';
import { parseNumericId } from '../shared/ids.js';
import {
  CHANNEL_NAMES,
  KIND_NAMES,
  PARTNER_KINDS,
  TOPIC_CHANNELS,
  TOPIC_KINDS,
  TopicCreateForm,
  TopicUpdateForm,
} from '../consent/topics.schemas.js';
import {
  createTopic,
  findTopicOr404,
  restoreTopic,
  retireTopic,
  updateTopic,
  newTopicChoices,
  topicsOverview,
} from '../consent/topics.service.js';
import { askToConfirm, count, isConfirmed } from './confirm-step.js';

const names = {
  kindNames: KIND_NAMES,
  channelNames: CHANNEL_NAMES,
  kinds: TOPIC_KINDS,
  channels: TOPIC_CHANNELS,
  partnerKinds: PARTNER_KINDS,
};

function idParam(req: Request): number {
  const id = parseNumericId(req.params.id);
  if (id === undefined) throw new NotFoundError('There is no topic with that number.');
  return id;
}

/** Staff screens for topics: add (nobody opted in, C1/C8), correct the wording, retire. */
export function topicsAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  const newFormLocals = async () => ({ ...names, title: 'New topic', ...(await newTopicChoices(svc)) });

  router.get('/admin/topics', guardFor('GET', '/admin/topics'), async (req, res) => {
    res.render('admin/topics/index', {
      ...names,
      title: 'Topics',
      ...(await topicsOverview(svc)),
      flash: ['created', 'saved', 'retired', 'restored'].find((k) => k in req.query),
    });
  });

  router.get('/admin/topics/new', guardFor('GET', '/admin/topics/new'), async (_req, res) => {
    res.render('admin/topics/new', { ...(await newFormLocals()), input: { channel: 'email', sort_order: '0' } });
  });

  router.post('/admin/topics', guardFor('POST', '/admin/topics'), async (req, res) => {
    formView(res, 'admin/topics/new', () => newFormLocals());
    const input = parseForm(TopicCreateForm, req.body);
    await createTopic(svc, req.user!.id, input);
    res.redirect(303, '/admin/topics?created');
  });

  router.get('/admin/topics/:id/edit', guardFor('GET', '/admin/topics/:id/edit'), async (req, res) => {
    const topic = await findTopicOr404(svc, idParam(req));
    res.render('admin/topics/edit', {
      ...names,
      title: `Edit topic ${topic.name}`,
      topic,
      input: { ...topic, sort_order: String(topic.sort_order) },
    });
  });

  router.post('/admin/topics/:id', guardFor('POST', '/admin/topics/:id'), async (req, res) => {
    const topic = await findTopicOr404(svc, idParam(req));
    formView(res, 'admin/topics/edit', () => ({ ...names, title: `Edit topic ${topic.name}`, topic }));
    const input = parseForm(TopicUpdateForm, req.body);
    await updateTopic(svc, req.user!.id, topic.id, input);
    res.redirect(303, '/admin/topics?saved');
  });

  router.post('/admin/topics/:id/retire', guardFor('POST', '/admin/topics/:id/retire'), async (req, res) => {
    const topic = await findTopicOr404(svc, idParam(req));
    if (!isConfirmed(req) && !topic.retired_at)
      return askToConfirm(res, {
        heading: `Retire “${topic.name}”?`,
        consequences: [
          'It is no longer offered on the join form or the preference page, and no audience of it can be exported.',
          `The ${count(topic.opted_in, 'member')} opted in to it now will no longer see it; their choice and its history are kept.`,
          'You can bring it back later from the retired topics list: those opted in before are then opted in again.',
        ],
        action: `/admin/topics/${topic.id}/retire`,
        button: `Retire it for ${count(topic.opted_in, 'member')}`,
        back: '/admin/topics',
      });
    await retireTopic(svc, req.user!.id, topic.id);
    res.redirect(303, '/admin/topics?retired');
  });

  router.post('/admin/topics/:id/restore', guardFor('POST', '/admin/topics/:id/restore'), async (req, res) => {
    await restoreTopic(svc, req.user!.id, idParam(req));
    res.redirect(303, '/admin/topics?restored');
  });

  return router;
}
