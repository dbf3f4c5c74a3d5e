import type { ApiRouter } from '../router.ts';
import type { Store } from '../store.ts';
import { newestFirst } from '../store.ts';
import type { Webhooks } from '../webhooks.ts';
import { invalidRequest, listPage, resourceMissing } from '../wire.ts';

/** `GET /v1/events` and `/v1/events/:id`: every event this server emitted, newest first. */

export function registerEvents(router: ApiRouter, store: Store, webhooks: Webhooks): void {
  router.add('GET', '/v1/events/:id', ({ pathParams }) => {
    const event = store.eventsById.get(pathParams.id ?? '');
    if (!event) throw resourceMissing('event', pathParams.id ?? '');
    return event;
  });

  router.add('GET', '/v1/events', ({ params }) => {
    params.allow([
      'type',
      'types',
      'created',
      'delivery_success',
      'limit',
      'starting_after',
      'ending_before',
    ]);
    const type = params.string('type');
    const types = params.strings('types');
    if (type && types.length > 0)
      throw invalidRequest('You may only specify one of these parameters: type, types.');
    if (types.length > 20) throw invalidRequest('You may pass up to 20 types.', 'types');
    // `type` accepts one `*` wildcard (`invoice.*`), as Stripe's does.
    const typeMatches = (candidate: string) =>
      type
        ? type.includes('*')
          ? new RegExp(`^${type.replace(/\./g, '\\.').replace('*', '.*')}$`).test(candidate)
          : candidate === type
        : true;
    const created = params.range('created');
    const deliverySuccess = params.boolean('delivery_success');
    const events = newestFirst(store.events).filter(
      (event) =>
        typeMatches(event.type) &&
        (types.length === 0 || types.includes(event.type)) &&
        (!created || created(event.created)) &&
        (deliverySuccess === undefined || webhooks.delivered(event.id) === deliverySuccess),
    );
    return listPage(events, params, '/v1/events');
  });
}
