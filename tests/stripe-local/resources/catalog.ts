import Stripe from 'stripe';
import type { ApiRouter } from '../router.ts';
import type { Store } from '../store.ts';
import { newestFirst, newId, previousAttributes } from '../store.ts';
import type { ParamReader } from '../wire.ts';
import { invalidRequest, listPage, mergeMetadata, resourceMissing, toJson } from '../wire.ts';

/** Products and prices: the catalogue, seeded at start and extendable through the API. */

export interface SeedProduct {
  id?: string;
  name: string;
  description?: string;
  metadata?: Record<string, string>;
}

export interface SeedPrice {
  /** A fixed id (Stripe generates `price_…`; a seed may choose one so configuration can name it). */
  id?: string;
  lookup_key?: string;
  /** A product id (seeded or created before) or a product to create. */
  product: string | SeedProduct;
  currency?: string;
  unit_amount?: number;
  /** Sub-cent prices, e.g. '0.05' for an API call billed at 1/20 cent. */
  unit_amount_decimal?: string;
  nickname?: string;
  metadata?: Record<string, string>;
  /** Absent: a one-time price. */
  recurring?: {
    interval?: 'day' | 'week' | 'month' | 'year';
    interval_count?: number;
    usage_type?: 'licensed' | 'metered';
    /** Metered prices: the meter's id or its `event_name`. */
    meter?: string;
  };
  transform_quantity?: { divide_by: number; round: 'up' | 'down' };
  /** Graduated tiers (`billing_scheme: tiered`, `tiers_mode: graduated`); the last is `up_to: 'inf'`. */
  tiers?: PriceTierInput[];
}

export interface PriceTierInput {
  up_to: number | 'inf';
  unit_amount_decimal: string;
}

export interface PriceInput {
  id?: string;
  currency: string;
  product: string;
  unit_amount?: number;
  unit_amount_decimal?: string;
  lookup_key?: string;
  transfer_lookup_key?: boolean;
  nickname?: string;
  metadata?: Stripe.Metadata;
  active?: boolean;
  tax_behavior?: Stripe.Price.TaxBehavior;
  recurring?: {
    interval: Stripe.Price.Recurring.Interval;
    interval_count: number;
    usage_type: Stripe.Price.Recurring.UsageType;
    meter: string | null;
  };
  transform_quantity?: Stripe.Price.TransformQuantity;
  tiers?: PriceTierInput[];
}

export function decimal(value: string | number): Stripe.Decimal {
  return Stripe.Decimal.from(String(value));
}

export function createProduct(
  store: Store,
  input: {
    id?: string;
    name: string;
    description?: string | null;
    metadata?: Stripe.Metadata;
    active?: boolean;
  },
): Stripe.Product {
  if (input.id && store.products.has(input.id)) {
    throw invalidRequest(`Product already exists.`, 'id', 'resource_already_exists');
  }
  const now = store.now();
  const product: Stripe.Product = {
    id: input.id ?? newId('prod', 14),
    object: 'product',
    active: input.active ?? true,
    created: now,
    default_price: null,
    description: input.description ?? null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: input.metadata ?? {},
    name: input.name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    type: 'service',
    unit_label: null,
    updated: now,
    url: null,
  };
  store.products.set(product.id, product);
  store.emit('product.created', product);
  return product;
}

export function createPrice(store: Store, input: PriceInput): Stripe.Price {
  if (input.id && store.prices.has(input.id))
    throw invalidRequest('Price already exists.', 'id', 'resource_already_exists');
  if (!/^[a-z]{3}$/.test(input.currency))
    throw invalidRequest(`Invalid currency: ${input.currency}`, 'currency');
  if (!store.products.has(input.product)) throw resourceMissing('product', input.product, 'product');
  if (input.unit_amount !== undefined && input.unit_amount_decimal !== undefined) {
    throw invalidRequest('You may only specify one of these parameters: unit_amount, unit_amount_decimal.');
  }
  if (input.unit_amount === undefined && input.unit_amount_decimal === undefined) {
    throw invalidRequest('Missing required param: unit_amount.', 'unit_amount', 'parameter_missing');
  }
  if (input.unit_amount !== undefined && input.unit_amount < 0) {
    throw invalidRequest('This value must be greater than or equal to 0.', 'unit_amount');
  }
  const recurring = input.recurring;
  if (recurring) {
    if (recurring.usage_type === 'metered' && !recurring.meter) {
      throw invalidRequest(
        'Metered prices must be backed by a meter: set recurring[meter].',
        'recurring[meter]',
      );
    }
    if (recurring.meter && !store.meters.has(recurring.meter)) {
      throw resourceMissing('billing meter', recurring.meter, 'recurring[meter]');
    }
    if (recurring.interval_count < 1)
      throw invalidRequest('Invalid interval_count.', 'recurring[interval_count]');
  }
  if (input.lookup_key) {
    const holder = [...store.prices.values()].find((price) => price.lookup_key === input.lookup_key);
    if (holder) {
      if (!input.transfer_lookup_key) {
        throw invalidRequest(
          `A price (\`${holder.id}\`) already uses that lookup key.`,
          'lookup_key',
          'lookup_key_already_exists',
        );
      }
      const before = toJson(holder);
      holder.lookup_key = null;
      store.emit('price.updated', holder, previousAttributes(before, holder));
    }
  }
  const amountDecimal = input.unit_amount_decimal ?? String(input.unit_amount ?? 0);
  const wholeAmount = Number(amountDecimal);
  const price: Stripe.Price = {
    id: input.id ?? newId('price'),
    object: 'price',
    active: input.active ?? true,
    billing_scheme: input.tiers ? 'tiered' : 'per_unit',
    created: store.now(),
    currency: input.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: input.lookup_key ?? null,
    metadata: input.metadata ?? {},
    nickname: input.nickname ?? null,
    product: input.product,
    recurring: recurring
      ? {
          interval: recurring.interval,
          interval_count: recurring.interval_count,
          meter: recurring.meter,
          trial_period_days: null,
          usage_type: recurring.usage_type,
        }
      : null,
    tax_behavior: input.tax_behavior ?? 'unspecified',
    tiers_mode: input.tiers ? 'graduated' : null,
    ...(input.tiers
      ? {
          tiers: input.tiers.map((tier) => {
            const amount = Number(tier.unit_amount_decimal);
            return {
              flat_amount: null,
              flat_amount_decimal: null,
              unit_amount: Number.isInteger(amount) ? amount : null,
              unit_amount_decimal: decimal(tier.unit_amount_decimal),
              up_to: tier.up_to === 'inf' ? null : tier.up_to,
            };
          }),
        }
      : {}),
    transform_quantity: input.transform_quantity ?? null,
    type: recurring ? 'recurring' : 'one_time',
    unit_amount: Number.isInteger(wholeAmount) ? wholeAmount : null,
    unit_amount_decimal: decimal(amountDecimal),
  };
  store.prices.set(price.id, price);
  store.emit('price.created', price);
  return price;
}

/** The legacy `plan` view of a recurring price that subscription items still carry. */
export function planOf(price: Stripe.Price): Stripe.Plan {
  const recurring = price.recurring;
  return {
    id: price.id,
    object: 'plan',
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: recurring?.interval ?? 'month',
    interval_count: recurring?.interval_count ?? 1,
    livemode: false,
    metadata: price.metadata,
    meter: recurring?.meter ?? null,
    nickname: price.nickname,
    product: typeof price.product === 'string' ? price.product : price.product.id,
    tiers_mode: null,
    transform_usage: price.transform_quantity,
    trial_period_days: null,
    usage_type: recurring?.usage_type ?? 'licensed',
  };
}

export function productIdOf(price: Stripe.Price): string {
  return typeof price.product === 'string' ? price.product : price.product.id;
}

export function productName(store: Store, price: Stripe.Price): string {
  return store.products.get(productIdOf(price))?.name ?? productIdOf(price);
}

export function isMetered(price: Stripe.Price): boolean {
  return price.recurring?.usage_type === 'metered';
}

/** The quantity a price bills for `quantity` units, after `transform_quantity`. */
export function billedQuantity(price: Stripe.Price, quantity: number): number {
  const transform = price.transform_quantity;
  if (!transform) return quantity;
  const divided = quantity / transform.divide_by;
  return transform.round === 'up' ? Math.ceil(divided) : Math.floor(divided);
}

/** The amount in the currency's minor unit for `quantity` units, rounded to a whole unit. */
export function amountFor(price: Stripe.Price, quantity: number): number {
  const billed = billedQuantity(price, quantity);
  if (price.tiers_mode === 'graduated' && price.tiers) {
    // Graduated: each tier prices the units between the previous tier's up_to and its own.
    let amount = 0;
    let floor = 0;
    for (const tier of price.tiers) {
      const ceiling = tier.up_to ?? Number.POSITIVE_INFINITY;
      const unit = tier.unit_amount ?? Number(String(tier.unit_amount_decimal ?? '0'));
      amount += Math.max(0, Math.min(billed, ceiling) - floor) * unit;
      if (billed <= ceiling) break;
      floor = ceiling;
    }
    return Math.round(amount);
  }
  const unit = price.unit_amount ?? Number(String(price.unit_amount_decimal ?? '0'));
  return Math.round(unit * billed);
}

export function findPrice(store: Store, id: string, param: string): Stripe.Price {
  const price = store.prices.get(id);
  if (!price) throw resourceMissing('price', id, param);
  return price;
}

/** Seeds the catalogue (meters are seeded first by the caller, so metered prices can name them). */
export function seedCatalogue(
  store: Store,
  products: readonly SeedProduct[],
  prices: readonly SeedPrice[],
): void {
  for (const product of products) createProduct(store, product);
  for (const seed of prices) {
    let productId: string;
    if (typeof seed.product === 'string') {
      productId = seed.product;
      if (!store.products.has(productId)) createProduct(store, { id: productId, name: productId });
    } else {
      const existing = seed.product.id ? store.products.get(seed.product.id) : undefined;
      productId = existing?.id ?? createProduct(store, seed.product).id;
    }
    const meterRef = seed.recurring?.meter;
    const meter = meterRef
      ? (store.meters.get(meterRef) ?? [...store.meters.values()].find((m) => m.event_name === meterRef))
      : undefined;
    if (meterRef && !meter)
      throw new Error(
        `stripe-local seed: price ${seed.id ?? seed.lookup_key} names unknown meter ${meterRef}`,
      );
    createPrice(store, {
      ...(seed.id ? { id: seed.id } : {}),
      currency: seed.currency ?? 'usd',
      product: productId,
      ...(seed.unit_amount_decimal !== undefined
        ? { unit_amount_decimal: seed.unit_amount_decimal }
        : { unit_amount: seed.unit_amount ?? 0 }),
      ...(seed.lookup_key ? { lookup_key: seed.lookup_key } : {}),
      ...(seed.nickname ? { nickname: seed.nickname } : {}),
      ...(seed.metadata ? { metadata: seed.metadata } : {}),
      ...(seed.transform_quantity ? { transform_quantity: seed.transform_quantity } : {}),
      ...(seed.tiers ? { tiers: seed.tiers } : {}),
      ...(seed.recurring
        ? {
            recurring: {
              interval: seed.recurring.interval ?? 'month',
              interval_count: seed.recurring.interval_count ?? 1,
              usage_type: seed.recurring.usage_type ?? 'licensed',
              meter: meter?.id ?? null,
            },
          }
        : {}),
    });
  }
}

function readRecurring(params: ParamReader): PriceInput['recurring'] | undefined {
  const recurring = params.object('recurring');
  if (!recurring) return undefined;
  recurring.allow(['interval', 'interval_count', 'usage_type', 'meter', 'trial_period_days']);
  recurring.refuse(['trial_period_days']);
  const interval = recurring.oneOf('interval', ['day', 'week', 'month', 'year'] as const);
  if (!interval)
    throw invalidRequest(
      'Missing required param: recurring[interval].',
      'recurring[interval]',
      'parameter_missing',
    );
  return {
    interval,
    interval_count: recurring.integer('interval_count') ?? 1,
    usage_type: recurring.oneOf('usage_type', ['licensed', 'metered'] as const) ?? 'licensed',
    meter: recurring.string('meter') ?? null,
  };
}

function readTransform(params: ParamReader): Stripe.Price.TransformQuantity | undefined {
  const transform = params.object('transform_quantity');
  if (!transform) return undefined;
  transform.allow(['divide_by', 'round']);
  const divideBy = transform.requiredInteger('divide_by');
  if (divideBy < 1) throw invalidRequest('divide_by must be at least 1.', 'transform_quantity[divide_by]');
  const round = transform.oneOf('round', ['up', 'down'] as const);
  if (!round)
    throw invalidRequest(
      'Missing required param: transform_quantity[round].',
      'transform_quantity[round]',
      'parameter_missing',
    );
  return { divide_by: divideBy, round };
}

export function registerCatalogue(router: ApiRouter, store: Store): void {
  router.add('POST', '/v1/products', ({ params }) => {
    params
      .allow([
        'id',
        'name',
        'description',
        'metadata',
        'active',
        'default_price_data',
        'tax_code',
        'unit_label',
        'url',
        'images',
      ])
      .refuse(['tax_code', 'unit_label', 'url', 'images']);
    const product = createProduct(store, {
      ...(params.string('id') ? { id: params.requiredString('id') } : {}),
      name: params.requiredString('name'),
      description: params.string('description') ?? null,
      metadata: mergeMetadata({}, params.metadata()),
      active: params.boolean('active') ?? true,
    });
    const defaultPrice = params.object('default_price_data');
    if (defaultPrice) {
      defaultPrice.allow(['currency', 'unit_amount', 'unit_amount_decimal', 'recurring', 'metadata']);
      const recurring = readRecurring(defaultPrice);
      const unitDecimal = defaultPrice.decimal('unit_amount_decimal');
      const price = createPrice(store, {
        currency: defaultPrice.requiredString('currency'),
        product: product.id,
        ...(unitDecimal !== undefined
          ? { unit_amount_decimal: unitDecimal }
          : { unit_amount: defaultPrice.requiredInteger('unit_amount') }),
        ...(recurring ? { recurring } : {}),
        metadata: mergeMetadata({}, defaultPrice.metadata()),
      });
      product.default_price = price.id;
    }
    return product;
  });

  router.add('GET', '/v1/products/:id', ({ pathParams }) => {
    const product = store.products.get(pathParams.id ?? '');
    if (!product) throw resourceMissing('product', pathParams.id ?? '');
    return product;
  });

  router.add('POST', '/v1/products/:id', ({ pathParams, params }) => {
    params.allow(['name', 'description', 'metadata', 'active', 'default_price']);
    const product = store.products.get(pathParams.id ?? '');
    if (!product) throw resourceMissing('product', pathParams.id ?? '');
    const before = toJson(product);
    product.name = params.string('name') ?? product.name;
    if (params.has('description')) product.description = params.string('description') || null;
    product.active = params.boolean('active') ?? product.active;
    product.metadata = mergeMetadata(product.metadata, params.metadata());
    const defaultPrice = params.string('default_price');
    if (defaultPrice !== undefined)
      product.default_price = defaultPrice ? findPrice(store, defaultPrice, 'default_price').id : null;
    product.updated = store.now();
    const changed = previousAttributes(before, product);
    if (Object.keys(changed).some((key) => key !== 'updated'))
      store.emit('product.updated', product, changed);
    return product;
  });

  router.add('GET', '/v1/products', ({ params }) => {
    params.allow(['active', 'ids', 'limit', 'starting_after', 'ending_before', 'created']);
    const active = params.boolean('active');
    const ids = params.strings('ids');
    const created = params.range('created');
    const products = newestFirst(store.products.values()).filter(
      (product) =>
        (active === undefined || product.active === active) &&
        (ids.length === 0 || ids.includes(product.id)) &&
        (!created || created(product.created)),
    );
    return listPage(products, params, '/v1/products');
  });

  router.add('POST', '/v1/prices', ({ params }) => {
    params
      .allow([
        'currency',
        'product',
        'product_data',
        'unit_amount',
        'unit_amount_decimal',
        'recurring',
        'lookup_key',
        'transfer_lookup_key',
        'nickname',
        'metadata',
        'active',
        'tax_behavior',
        'transform_quantity',
        'billing_scheme',
        'tiers',
        'tiers_mode',
        'custom_unit_amount',
        'currency_options',
      ])
      .refuse(['tiers', 'tiers_mode', 'custom_unit_amount', 'currency_options']);
    if (params.oneOf('billing_scheme', ['per_unit', 'tiered'] as const) === 'tiered') {
      throw invalidRequest(
        'stripe-local does not support the parameter billing_scheme (tiered).',
        'billing_scheme',
      );
    }
    let productId = params.string('product');
    const productData = params.object('product_data');
    if (productId && productData)
      throw invalidRequest('You may only specify one of these parameters: product, product_data.');
    if (productData) {
      productData.allow(['name', 'metadata', 'id', 'active']);
      productId = createProduct(store, {
        ...(productData.string('id') ? { id: productData.requiredString('id') } : {}),
        name: productData.requiredString('name'),
        metadata: mergeMetadata({}, productData.metadata()),
      }).id;
    }
    if (!productId) throw invalidRequest('Missing required param: product.', 'product', 'parameter_missing');
    const recurring = readRecurring(params);
    const transform = readTransform(params);
    const unitAmount = params.integer('unit_amount');
    const unitDecimal = params.decimal('unit_amount_decimal');
    const lookupKey = params.string('lookup_key');
    const nickname = params.string('nickname');
    const taxBehavior = params.oneOf('tax_behavior', ['exclusive', 'inclusive', 'unspecified'] as const);
    return createPrice(store, {
      currency: params.requiredString('currency').toLowerCase(),
      product: productId,
      ...(unitAmount !== undefined ? { unit_amount: unitAmount } : {}),
      ...(unitDecimal !== undefined ? { unit_amount_decimal: unitDecimal } : {}),
      ...(recurring ? { recurring } : {}),
      ...(transform ? { transform_quantity: transform } : {}),
      ...(lookupKey ? { lookup_key: lookupKey } : {}),
      transfer_lookup_key: params.boolean('transfer_lookup_key') ?? false,
      ...(nickname ? { nickname } : {}),
      ...(taxBehavior ? { tax_behavior: taxBehavior } : {}),
      metadata: mergeMetadata({}, params.metadata()),
      active: params.boolean('active') ?? true,
    });
  });

  router.add('GET', '/v1/prices/:id', ({ pathParams }) => findPrice(store, pathParams.id ?? '', 'id'));

  router.add('POST', '/v1/prices/:id', ({ pathParams, params }) => {
    params.allow(['active', 'lookup_key', 'transfer_lookup_key', 'metadata', 'nickname', 'tax_behavior']);
    const price = findPrice(store, pathParams.id ?? '', 'id');
    const before = toJson(price);
    price.active = params.boolean('active') ?? price.active;
    if (params.has('nickname')) price.nickname = params.string('nickname') || null;
    price.metadata = mergeMetadata(price.metadata, params.metadata());
    const lookupKey = params.string('lookup_key');
    if (lookupKey !== undefined && lookupKey !== price.lookup_key) {
      const holder = [...store.prices.values()].find(
        (other) => other.lookup_key === lookupKey && other !== price,
      );
      if (holder && lookupKey) {
        if (!params.boolean('transfer_lookup_key')) {
          throw invalidRequest(
            `A price (\`${holder.id}\`) already uses that lookup key.`,
            'lookup_key',
            'lookup_key_already_exists',
          );
        }
        const holderBefore = toJson(holder);
        holder.lookup_key = null;
        store.emit('price.updated', holder, previousAttributes(holderBefore, holder));
      }
      price.lookup_key = lookupKey || null;
    }
    const changed = previousAttributes(before, price);
    if (Object.keys(changed).length > 0) store.emit('price.updated', price, changed);
    return price;
  });

  router.add('GET', '/v1/prices', ({ params }) => {
    params.allow([
      'active',
      'currency',
      'product',
      'type',
      'lookup_keys',
      'recurring',
      'limit',
      'starting_after',
      'ending_before',
      'created',
    ]);
    const active = params.boolean('active');
    const currency = params.string('currency');
    const product = params.string('product');
    const type = params.oneOf('type', ['one_time', 'recurring'] as const);
    const lookupKeys = params.strings('lookup_keys');
    if (lookupKeys.length > 10) throw invalidRequest('You can specify up to 10 lookup_keys.', 'lookup_keys');
    const recurring = params.object('recurring');
    recurring?.allow(['interval', 'usage_type', 'meter']);
    const interval = recurring?.string('interval');
    const usageType = recurring?.string('usage_type');
    const meter = recurring?.string('meter');
    const created = params.range('created');
    const prices = newestFirst(store.prices.values()).filter(
      (price) =>
        (active === undefined || price.active === active) &&
        (!currency || price.currency === currency) &&
        (!product || productIdOf(price) === product) &&
        (!type || price.type === type) &&
        (lookupKeys.length === 0 || (price.lookup_key !== null && lookupKeys.includes(price.lookup_key))) &&
        (!interval || price.recurring?.interval === interval) &&
        (!usageType || price.recurring?.usage_type === usageType) &&
        (!meter || price.recurring?.meter === meter) &&
        (!created || created(price.created)),
    );
    return listPage(prices, params, '/v1/prices');
  });
}
